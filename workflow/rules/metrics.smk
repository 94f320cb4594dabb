# Every metric job computes its metric at both budgets (paths.BUDGETS): the runs' embeddings
# after S steps and at floor(S/2), written to the full-budget path and its half-budget mirror.
rule retraining_variability:
    input:
        runs=run_embeddings,
        half_runs=half_run_embeddings,
    output:
        full=paths.fill(paths.METRIC, metric="rv"),
        half=paths.at_budget(paths.fill(paths.METRIC, metric="rv"), "half"),
    log:
        paths.log("rv", paths.RETRAINING),
    conda:
        "../../envs/rvae.yaml"
    params:
        estimator=config["rv_estimator"],
    script:
        "../scripts/retraining_variability.py"


rule latent_space_distortion:
    input:
        runs=run_embeddings,
        half_runs=half_run_embeddings,
        template=paths.fill(paths.TEMPLATE_EMBEDDING, which="joint"),
    output:
        full=paths.fill(paths.METRIC, metric="lsd"),
        half=paths.at_budget(paths.fill(paths.METRIC, metric="lsd"), "half"),
    log:
        paths.log("lsd", paths.RETRAINING),
    conda:
        "../../envs/rvae.yaml"
    params:
        seeds=list(range(config["n_seeds"])),
    script:
        "../scripts/latent_space_distortion.py"


rule portability_per_seed:
    input:
        portability_inputs,
    output:
        full=paths.PORTABILITY_SEEDS,
        half=paths.at_budget(paths.PORTABILITY_SEEDS, "half"),
    log:
        paths.log("portability", "{dataset}", "{method}-k{k}-{variant}"),
    conda:
        "../../envs/rvae.yaml"
    params:
        files=portability_input_files,
        seeds=list(range(config["n_seeds"])),
    script:
        "../scripts/portability_per_seed.py"


rule similarity_panel:
    input:
        runs=run_embeddings,
        half_runs=half_run_embeddings,
        template=paths.fill(paths.TEMPLATE_EMBEDDING, which="d1"),
    output:
        full=paths.fill(paths.METRIC, metric="panel"),
        half=paths.at_budget(paths.fill(paths.METRIC, metric="panel"), "half"),
    log:
        paths.log("panel", paths.RETRAINING),
    conda:
        "../../envs/rvae.yaml"
    params:
        seeds=list(range(config["n_seeds"])),
    script:
        "../scripts/similarity_panel.py"


rule convergence:
    input:
        unpack(budget_record),
        embeddings=run_embeddings,
        half_embeddings=half_run_embeddings,
        histories=run_histories,
    output:
        full=paths.CONVERGENCE,
        half=paths.at_budget(paths.CONVERGENCE, "half"),
    log:
        paths.log("convergence", paths.RETRAINING),
    conda:
        "../../envs/rvae.yaml"
    params:
        seeds=list(range(config["n_seeds"])),
        rule=lambda w: job_params.plateau_rule(config, w.dataset),
        training=lambda w: job_params.training_params(config, w.dataset, 0),
    script:
        "../scripts/convergence.py"
