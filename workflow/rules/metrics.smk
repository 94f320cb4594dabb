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
