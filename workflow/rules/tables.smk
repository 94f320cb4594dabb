rule make_table:
    input:
        metrics=table_inputs,
        paper="workflow/resources/paper_values.csv",
    output:
        csv=report(
            "results/tables/table{n}.csv",
            category="Tables",
            labels={"table": "{n}", "format": "csv"},
        ),
        parquet="results/tables/table{n}.parquet",
        md="results/tables/table{n}.md",
    params:
        tables=config["tables"],
        estimator=config["rv_estimator"],
    log:
        "results/logs/tables/table{n}.log",
    localrule: True
    script:
        "../scripts/make_table.py"
