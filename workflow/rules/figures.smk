rule plot_datasets:
    input:
        [f"results/data/{d}/points.parquet" for d in DATASETS],
    output:
        report(
            "results/figures/datasets.png",
            category="Data",
            caption="../report/datasets.rst",
        ),
    params:
        datasets=DATASETS,
    log:
        "results/logs/figures/datasets.log",
    localrule: True
    script:
        "../scripts/plot_datasets.py"
