rule train_template:
    input:
        unpack(dataset_data),
    output:
        model=paths.TEMPLATE_MODEL,
        embedding=paths.TEMPLATE_EMBEDDING,
        history=paths.TEMPLATE_HISTORY,
    log:
        paths.log("train_template", "{dataset}", "{which}"),
    benchmark:
        paths.benchmark("train_template", "{dataset}", "{which}")
    conda:
        "../../envs/rvae.yaml"
    threads: config["threads_per_job"]
    resources:
        gpu=gpu_resource,
        mem_mb=4000,
        runtime=120,
    params:
        training=lambda w: job_params.training_params(
            config,
            w.dataset,
            job_params.seed_of(config, job_params.template_role(w.dataset, w.which)),
        ),
        seed_role=lambda w: job_params.template_role(w.dataset, w.which),
        architecture=lambda w: job_params.architecture_params(config, w.dataset),
        checkpoint=paths.TEMPLATE_CHECKPOINT,
    script:
        "../scripts/train_template.py"
