rule train_template:
    input:
        unpack(dataset_data),
        unpack(budget_input),
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
        training=lambda w: job_params.template_training_params(
            config, w.dataset, w.which
        ),
        seed_role=lambda w: seeds.template_role(w.dataset, w.which),
        architecture=lambda w: job_params.architecture_params(config, w.dataset),
        checkpoint=paths.TEMPLATE_CHECKPOINT,
    script:
        "../scripts/train_template.py"


rule budget:
    input:
        history=paths.fill(paths.TEMPLATE_HISTORY, which="joint"),
        points=paths.DATA_POINTS,
    output:
        paths.BUDGET,
    log:
        paths.log("budget", "{dataset}"),
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    params:
        rule=lambda w: job_params.plateau_rule(config, w.dataset),
        steps=lambda w: job_params.fixed_steps(config, w.dataset),
        passes=lambda w: job_params.paper_passes_of(config, w.dataset),
        batch_size=lambda w: config["datasets"][w.dataset]["training"]["batch_size"],
    script:
        "../scripts/budget.py"


rule template_diagnostics:
    input:
        joint=paths.fill(paths.TEMPLATE_EMBEDDING, which="joint"),
        d1=paths.fill(paths.TEMPLATE_EMBEDDING, which="d1"),
        joint_history=paths.fill(paths.TEMPLATE_HISTORY, which="joint"),
        d1_history=paths.fill(paths.TEMPLATE_HISTORY, which="d1"),
    output:
        report(
            paths.TEMPLATE_DIAGNOSTICS,
            category="Convergence",
            caption="../report/template_diagnostics.rst",
            labels={"dataset": "{dataset}"},
        ),
    log:
        paths.log("template_diagnostics", "{dataset}"),
    conda:
        "../../envs/rvae.yaml"
    params:
        rule=lambda w: job_params.plateau_rule(config, w.dataset),
    script:
        "../scripts/template_diagnostics.py"
