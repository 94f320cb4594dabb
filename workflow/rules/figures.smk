rule plot_datasets:
    input:
        [f"results/data/{d}/points.parquet" for d in DATASETS],
    output:
        report(
            "results/figures/datasets.png",
            category="Data",
            caption="../report/datasets.rst",
        ),
    log:
        "results/logs/figures/datasets.log",
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    params:
        datasets=DATASETS,
    script:
        "../scripts/plot_datasets.py"
