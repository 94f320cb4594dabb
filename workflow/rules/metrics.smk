rule retraining_variability:
    input:
        run_embeddings,
    output:
        "results/metrics/rv/{experiment}/{dataset}/{method}-k{k}-{arch}/{model}.parquet",
    log:
        "results/logs/rv/{experiment}/{dataset}/{method}-k{k}-{arch}/{model}.log",
    conda:
        "../../envs/rvae.yaml"
    params:
        estimator=config["rv_estimator"],
    script:
        "../scripts/retraining_variability.py"


rule latent_space_distortion:
    input:
        runs=run_embeddings,
        template="results/embeddings/templates/{dataset}/joint.parquet",
    output:
        "results/metrics/lsd/{experiment}/{dataset}/{method}-k{k}-{arch}/{model}.parquet",
    log:
        "results/logs/lsd/{experiment}/{dataset}/{method}-k{k}-{arch}/{model}.log",
    conda:
        "../../envs/rvae.yaml"
    params:
        seeds=SEEDS,
    script:
        "../scripts/latent_space_distortion.py"
