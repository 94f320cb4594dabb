rule retraining_variability:
    input:
        run_embeddings,
    output:
        paths.fill(paths.METRIC, metric="rv"),
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
        template=paths.fill(paths.TEMPLATE_EMBEDDING, which="joint"),
    output:
        paths.fill(paths.METRIC, metric="lsd"),
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
        paths.PORTABILITY_SEEDS,
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
        template=paths.fill(paths.TEMPLATE_EMBEDDING, which="d1"),
    output:
        paths.fill(paths.METRIC, metric="panel"),
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
        histories=run_histories,
    output:
        paths.CONVERGENCE,
    log:
        paths.log("convergence", paths.RETRAINING),
    conda:
        "../../envs/rvae.yaml"
    params:
        seeds=list(range(config["n_seeds"])),
        rule=lambda w: job_params.plateau_rule(config, w.dataset),
    script:
        "../scripts/convergence.py"
