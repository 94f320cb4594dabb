rule plot_datasets:
    input:
        [paths.fill(paths.DATA_POINTS, dataset=d) for d in DATASETS],
    output:
        report(
            paths.fill(paths.FIGURE, name="datasets", ext="png"),
            category="Data",
            caption="../report/datasets.rst",
        ),
    log:
        paths.log("figures", "datasets"),
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    params:
        datasets=DATASETS,
    script:
        "../scripts/plot_datasets.py"


rule figure_reproducibility:
    input:
        lambda w: targets.files_in(targets.reproducibility_figure(config)),
    output:
        png=report(
            paths.fill(paths.FIGURE, name="figure2", ext="png"),
            category="Reproducibility",
            caption="../report/figure2.rst",
        ),
        pdf=paths.fill(paths.FIGURE, name="figure2", ext="pdf"),
    log:
        paths.log("figures", "figure2"),
    conda:
        "../../envs/rvae.yaml"
    params:
        files=lambda w: targets.reproducibility_figure(config),
    script:
        "../scripts/figure_reproducibility.py"


rule figure_sequential:
    input:
        lambda w: targets.files_in(targets.sequential_figure(config)),
    output:
        png=report(
            paths.fill(paths.FIGURE, name="figure{number}", ext="png"),
            category="Sequential",
            caption="../report/sequential.rst",
        ),
        pdf=paths.fill(paths.FIGURE, name="figure{number}", ext="pdf"),
    log:
        paths.log("figures", "figure{number}"),
    wildcard_constraints:
        number="4|5",
    conda:
        "../../envs/rvae.yaml"
    params:
        files=lambda w: targets.sequential_figure(config),
    script:
        "../scripts/figure_sequential.py"


rule figure_linear_maps:
    input:
        lambda w: targets.files_in(targets.linear_map_figure(config)),
    output:
        png6=report(
            paths.fill(paths.FIGURE, name="figure6", ext="png"),
            category="Linear maps",
            caption="../report/figure6.rst",
        ),
        pdf6=paths.fill(paths.FIGURE, name="figure6", ext="pdf"),
        png7=report(
            paths.fill(paths.FIGURE, name="figure7", ext="png"),
            category="Linear maps",
            caption="../report/figure7.rst",
        ),
        pdf7=paths.fill(paths.FIGURE, name="figure7", ext="pdf"),
    log:
        paths.log("figures", "figure6_7"),
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    params:
        files=lambda w: targets.linear_map_figure(config),
    script:
        "../scripts/figure_linear_maps.py"


rule figure_training_curves:
    input:
        lambda w: targets.files_in(targets.training_curves_figure(config)),
    output:
        png=report(
            paths.fill(paths.FIGURE, name="training_curves", ext="png"),
            category="Training",
            caption="../report/training_curves.rst",
        ),
        pdf=paths.fill(paths.FIGURE, name="training_curves", ext="pdf"),
    log:
        paths.log("figures", "training_curves"),
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    params:
        files=lambda w: targets.training_curves_figure(config),
    script:
        "../scripts/figure_training_curves.py"


rule figure_sweeps:
    input:
        lambda w: [c["file"] for c in targets.sweeps_figure(config)],
    output:
        png=report(
            paths.fill(paths.FIGURE, name="sweeps", ext="png"),
            category="Training",
            caption="../report/sweeps.rst",
        ),
        pdf=paths.fill(paths.FIGURE, name="sweeps", ext="pdf"),
    log:
        paths.log("figures", "sweeps"),
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    params:
        candidates=lambda w: targets.sweeps_figure(config),
    script:
        "../scripts/figure_sweeps.py"


rule figure_findings:
    input:
        paths.FINDINGS["parquet"],
    output:
        png=report(
            paths.fill(paths.FIGURE, name="findings", ext="png"),
            category="Findings",
            caption="../report/figure_findings.rst",
            labels={"file": "paper's effect vs ours"},
        ),
        pdf=paths.fill(paths.FIGURE, name="findings", ext="pdf"),
        budgets_png=report(
            paths.fill(paths.FIGURE, name="verdicts_by_budget", ext="png"),
            category="Findings",
            caption="../report/figure_verdicts_by_budget.rst",
            labels={"file": "headline claims at half and full budget"},
        ),
        budgets_pdf=paths.fill(paths.FIGURE, name="verdicts_by_budget", ext="pdf"),
    log:
        paths.log("figures", "findings"),
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    script:
        "../scripts/figure_findings.py"


rule figure_portability:
    input:
        lambda w: targets.files_in(targets.portability_figure(config)),
    output:
        png=report(
            paths.fill(paths.FIGURE, name="portability", ext="png"),
            category="Portability",
            caption="../report/portability_figure.rst",
        ),
        pdf=paths.fill(paths.FIGURE, name="portability", ext="pdf"),
    log:
        paths.log("figures", "portability"),
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    params:
        files=lambda w: targets.portability_figure(config),
    script:
        "../scripts/figure_portability.py"
