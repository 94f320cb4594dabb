rule retraining_variability:
    input:
        run_embeddings,
    output:
        "results/metrics/rv/{experiment}/{dataset}/{method}-k{k}-{arch}/{model}.parquet",
    params:
        estimator=config["rv_estimator"],
    log:
        "results/logs/rv/{experiment}/{dataset}/{method}-k{k}-{arch}/{model}.log",
    script:
        "../scripts/retraining_variability.py"


rule latent_space_distortion:
    input:
        runs=run_embeddings,
        template="results/embeddings/templates/{dataset}/joint.parquet",
    output:
        "results/metrics/lsd/{experiment}/{dataset}/{method}-k{k}-{arch}/{model}.parquet",
    params:
        seeds=SEEDS,
    log:
        "results/logs/lsd/{experiment}/{dataset}/{method}-k{k}-{arch}/{model}.log",
    script:
        "../scripts/latent_space_distortion.py"
