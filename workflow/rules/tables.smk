rule make_table:
    input:
        metrics=table_inputs,
        paper=PAPER_VALUES,
    output:
        csv=report(
            "results/tables/table{n}.csv",
            category="Tables",
            caption="../report/table.rst",
            labels={"table": "{n}", "format": "csv"},
        ),
        parquet="results/tables/table{n}.parquet",
        md="results/tables/table{n}.md",
    log:
        "results/logs/tables/table{n}.log",
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    params:
        tables=config["tables"],
        estimator=config["rv_estimator"],
    script:
        "../scripts/make_table.py"
