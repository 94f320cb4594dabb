rule make_table:
    input:
        metrics=table_inputs,
        paper=PAPER_VALUES,
    output:
        csv=report(
            paths.fill(paths.TABLE, ext="csv"),
            category="Tables",
            caption="../report/table.rst",
            labels={"table": "{n}", "format": "csv"},
        ),
        parquet=paths.fill(paths.TABLE, ext="parquet"),
        md=paths.fill(paths.TABLE, ext="md"),
    log:
        paths.log("tables", "table{n}"),
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    params:
        tables=config["tables"],
        estimator=config["rv_estimator"],
    script:
        "../scripts/make_table.py"
