rule retrain:
    input:
        unpack(dataset_data),
        unpack(hyperparameter_input),
        rosetta="results/rosetta/{dataset}/{method}-k{k}.parquet",
    output:
        directory(
            "results/blocks/{experiment}/{dataset}/{method}-k{k}-{arch}/{model}/block{block}"
        ),
    log:
        "results/logs/retrain/{experiment}/{dataset}/{method}-k{k}-{arch}/{model}/block{block}.log",
    benchmark:
        "results/benchmarks/retrain/{experiment}/{dataset}/{method}-k{k}-{arch}/{model}/block{block}.tsv"
    conda:
        "../../envs/rvae.yaml"
    threads: config["threads_per_job"]
    resources:
        gpu=gpu_resource,
        mem_mb=4000,
        runtime=120,
    params:
        seeds=lambda w: block_seeds(w.block),
        run_seeds=run_seeds,
        training=lambda w: training_params(w.dataset, 0),
        architecture=lambda w: architecture_params(w.dataset, w.arch),
        hyperparameter=fixed_hyperparameter,
        mode=config["seed_block"]["mode"],
        checkpoints=lambda w: [
            f"results/checkpoints/{run_dir(w)}/seed{s}.ckpt"
            for s in block_seeds(w.block)
        ],
    script:
        "../scripts/retrain.py"


rule seed_result:
    input:
        seed_block_output,
    output:
        model="results/models/{experiment}/{dataset}/{method}-k{k}-{arch}/{model}/seed{seed}.pt",
        embedding="results/embeddings/{experiment}/{dataset}/{method}-k{k}-{arch}/{model}/seed{seed}.parquet",
        history="results/history/{experiment}/{dataset}/{method}-k{k}-{arch}/{model}/seed{seed}.parquet",
    log:
        "results/logs/seed_result/{experiment}/{dataset}/{method}-k{k}-{arch}/{model}/seed{seed}.log",
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    # A shell copy, not a Python job: hundreds of these run in a few milliseconds each.
    # File names inside the block: rvae.workflow_support.BLOCK_FILES.
    shell:
        "cp {input}/seed{wildcards.seed}.pt {output.model} && "
        "cp {input}/seed{wildcards.seed}.parquet {output.embedding} && "
        "cp {input}/seed{wildcards.seed}.history.parquet {output.history} && "
        "echo 'seed {wildcards.seed}: copied from {input}' > {log}"


rule sweep_candidate:
    input:
        unpack(dataset_data),
        rosetta=sweep_rosetta,
    output:
        "results/sweeps/{experiment}/{dataset}/{param}/{value}.json",
    log:
        "results/logs/sweep/{experiment}/{dataset}/{param}/{value}.log",
    benchmark:
        "results/benchmarks/sweep/{experiment}/{dataset}/{param}/{value}.tsv"
    conda:
        "../../envs/rvae.yaml"
    threads: config["threads_per_job"]
    resources:
        gpu=gpu_resource,
        mem_mb=4000,
        runtime=60,
    params:
        training=lambda w: {
            **training_params(w.dataset, config["template_seed"]),
            "epochs": hyperparameter(config, w.dataset, w.param)["epochs"],
        },
        architecture=lambda w: architecture_params(w.dataset),
    script:
        "../scripts/sweep_candidate.py"


rule select_hyperparameter:
    input:
        sweep_candidates,
    output:
        "results/hyperparameters/{experiment}/{dataset}/{param}.json",
    log:
        "results/logs/select_hyperparameter/{experiment}/{dataset}/{param}.log",
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    script:
        "../scripts/select_hyperparameter.py"
