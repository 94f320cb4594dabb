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


rule figure_reproducibility:
    input:
        unpack(figure2_inputs),
    output:
        png=report(
            "results/figures/figure2.png",
            category="Reproducibility",
            caption="../report/figure2.rst",
        ),
        pdf="results/figures/figure2.pdf",
    log:
        "results/logs/figures/figure2.log",
    conda:
        "../../envs/rvae.yaml"
    script:
        "../scripts/figure_reproducibility.py"


rule figure_sequential:
    input:
        unpack(sequential_figure_inputs),
    output:
        png=report(
            "results/figures/figure{number}.png",
            category="Sequential",
            caption="../report/sequential.rst",
        ),
        pdf="results/figures/figure{number}.pdf",
    log:
        "results/logs/figures/figure{number}.log",
    wildcard_constraints:
        number="4|5",
    conda:
        "../../envs/rvae.yaml"
    script:
        "../scripts/figure_sequential.py"


rule figure_linear_maps:
    input:
        unpack(linear_map_inputs),
    output:
        png6=report(
            "results/figures/figure6.png",
            category="Linear maps",
            caption="../report/figure6.rst",
        ),
        pdf6="results/figures/figure6.pdf",
        png7=report(
            "results/figures/figure7.png",
            category="Linear maps",
            caption="../report/figure7.rst",
        ),
        pdf7="results/figures/figure7.pdf",
    log:
        "results/logs/figures/figure6_7.log",
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    script:
        "../scripts/figure_linear_maps.py"


rule figure_training_curves:
    input:
        unpack(history_inputs),
    output:
        png=report(
            "results/figures/training_curves.png",
            category="Training",
            caption="../report/training_curves.rst",
        ),
        pdf="results/figures/training_curves.pdf",
    log:
        "results/logs/figures/training_curves.log",
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    script:
        "../scripts/figure_training_curves.py"


rule figure_sweeps:
    input:
        sweep_figure_inputs,
    output:
        png=report(
            "results/figures/sweeps.png",
            category="Training",
            caption="../report/sweeps.rst",
        ),
        pdf="results/figures/sweeps.pdf",
    log:
        "results/logs/figures/sweeps.log",
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    script:
        "../scripts/figure_sweeps.py"
