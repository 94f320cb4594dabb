# The anchor budget (spec, "Anchor budget"): Bob's R-VAE against his plain VAE aligned post hoc
# on the same k Rosetta pairs, over a grid of k.


rule anchor_budget_per_seed:
    input:
        anchor_budget_inputs,
    output:
        paths.ANCHOR_BUDGET_SEEDS,
    log:
        paths.log("anchor_budget", "{dataset}", "{method}-k{k}-{variant}"),
    conda:
        "../../envs/rvae.yaml"
    params:
        files=anchor_budget_input_files,
        seeds=list(range(config["n_seeds"])),
    script:
        "../scripts/anchor_budget_per_seed.py"


rule anchor_budget_table:
    input:
        lambda w: targets.files_in(targets.anchor_budget_table(config)["per_seed"]),
        lambda w: targets.files_in(targets.anchor_budget_table(config)["convergence"]),
        lambda w: targets.files_in(targets.anchor_budget_table(config)["templates"]),
    output:
        csv=report(
            paths.fill(paths.ANCHOR_BUDGET_TABLE, ext="csv"),
            category="Anchor budget",
            caption="../report/anchor_budget_table.rst",
            labels={"table": "anchor budget", "format": "csv"},
        ),
        parquet=paths.fill(paths.ANCHOR_BUDGET_TABLE, ext="parquet"),
        md=paths.fill(paths.ANCHOR_BUDGET_TABLE, ext="md"),
    log:
        paths.log("tables", "anchor_budget"),
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    params:
        files=lambda w: targets.anchor_budget_table(config),
    script:
        "../scripts/anchor_budget_table.py"


rule figure_anchor_budget:
    input:
        rules.anchor_budget_table.output.parquet,
    output:
        png=report(
            paths.fill(paths.FIGURE, name="anchor_budget", ext="png"),
            category="Anchor budget",
            caption="../report/anchor_budget_figure.rst",
        ),
        pdf=paths.fill(paths.FIGURE, name="anchor_budget", ext="pdf"),
    log:
        paths.log("figures", "anchor_budget"),
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    script:
        "../scripts/figure_anchor_budget.py"
