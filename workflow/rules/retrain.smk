rule retrain:
    input:
        unpack(dataset_data),
        unpack(budget_input),
        unpack(chosen_hyperparameter),
        rosetta=paths.ROSETTA,
    output:
        directory(paths.BLOCK),
    log:
        paths.log("retrain", paths.RETRAINING, "block{block}"),
    benchmark:
        paths.benchmark("retrain", paths.RETRAINING, "block{block}")
    conda:
        "../../envs/rvae.yaml"
    threads: config["threads_per_job"]
    resources:
        gpu=gpu_resource,
        mem_mb=4000,
        runtime=120,
    params:
        seeds=lambda w: job_params.block_seeds(config, w.block),
        seed_roles=lambda w: job_params.retrain_roles(
            config,
            paths.fill(paths.RETRAINING, **dict(w.items())),
            w.model_kind,
            w.block,
        ),
        training_seeds=lambda w: job_params.training_seeds(
            config,
            paths.fill(paths.RETRAINING, **dict(w.items())),
            w.model_kind,
            w.block,
        ),
        training=lambda w: job_params.training_params(config, w.dataset, 0),
        architecture=lambda w: job_params.architecture_params(
            config, w.dataset, w.variant
        ),
        hyperparameter=lambda w: job_params.fixed_hyperparameter(
            config, w.dataset, w.model_kind
        ),
        mode=config["seed_block"]["mode"],
        checkpoints=block_checkpoints,
    script:
        "../scripts/retrain.py"


rule retrain_pool:
    input:
        unpack(pool_inputs),
    output:
        directory(paths.POOL),
    log:
        paths.log("retrain_pool", "{dataset}", "{variant}"),
    benchmark:
        paths.benchmark("retrain_pool", "{dataset}", "{variant}")
    conda:
        "../../envs/rvae.yaml"
    threads: config["threads_per_job"]
    resources:
        gpu=gpu_resource,
        mem_mb=4000,
        runtime=240,
    params:
        members=lambda w: job_params.pool_members(config, w.dataset, w.variant),
        training=lambda w: job_params.training_params(config, w.dataset, 0),
        architecture=lambda w: job_params.architecture_params(
            config, w.dataset, w.variant
        ),
    script:
        "../scripts/retrain_pool.py"


rule seed_result:
    input:
        seed_block_output,
    output:
        model=paths.RUN_MODEL,
        embedding=paths.RUN_EMBEDDING,
        history=paths.RUN_HISTORY,
        half_model=paths.at_budget(paths.RUN_MODEL, "half"),
        half_embedding=paths.at_budget(paths.RUN_EMBEDDING, "half"),
    log:
        paths.log("seed_result", paths.RETRAINING, "seed{seed}"),
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    params:
        model=lambda w, input: job_params.seed_file(config, w, input[0], "model"),
        embedding=lambda w, input: job_params.seed_file(
            config, w, input[0], "embedding"
        ),
        history=lambda w, input: job_params.seed_file(config, w, input[0], "history"),
        half_model=lambda w, input: job_params.seed_file(
            config, w, input[0], "half_model"
        ),
        half_embedding=lambda w, input: job_params.seed_file(
            config, w, input[0], "half_embedding"
        ),
    # A shell copy, not a Python job: hundreds of these run in a few milliseconds each.
    shell:
        "cp {params.model} {output.model} && "
        "cp {params.embedding} {output.embedding} && "
        "cp {params.history} {output.history} && "
        "cp {params.half_model} {output.half_model} && "
        "cp {params.half_embedding} {output.half_embedding} && "
        "echo 'seed {wildcards.seed}: copied from {input}' > {log}"


rule sweep:
    input:
        unpack(dataset_data),
        rosetta=sweep_rosetta,
    output:
        paths.SWEEP_PART,
    log:
        paths.log("sweep", "{experiment}", "{dataset}", "{param}", "part{part}"),
    benchmark:
        paths.benchmark("sweep", "{experiment}", "{dataset}", "{param}", "part{part}")
    conda:
        "../../envs/rvae.yaml"
    threads: config["threads_per_job"]
    resources:
        gpu=gpu_resource,
        mem_mb=4000,
        runtime=240,
    params:
        sweep=lambda w: job_params.sweep_params(
            config, w.experiment, w.dataset, w.param, w.part
        ),
        architecture=lambda w: job_params.architecture_params(config, w.dataset),
        mode=config["seed_block"]["mode"],
    script:
        "../scripts/sweep.py"


rule gather_sweep:
    input:
        sweep_part_files,
    output:
        paths.SWEEP,
    log:
        paths.log("gather_sweep", "{experiment}", "{dataset}", "{param}"),
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    script:
        "../scripts/gather_sweep.py"


rule select_hyperparameter:
    input:
        paths.SWEEP,
    output:
        paths.CHOSEN_HYPERPARAMETER,
    log:
        paths.log("select_hyperparameter", "{experiment}", "{dataset}", "{param}"),
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    script:
        "../scripts/select_hyperparameter.py"
