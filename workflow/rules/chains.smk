# Chains of labs (spec, "Chains"): Alice on P1 exports R1, Bob on P2 anchors on it and exports his
# own points, Carol on P3 anchors on his, on R1 or on both; every hop scored in Alice's coordinates.


rule chain_template:
    input:
        unpack(dataset_data),
        unpack(budget_input),
    output:
        model=paths.CHAIN_TEMPLATE["model"],
        embedding=paths.CHAIN_TEMPLATE["embedding"],
        history=paths.CHAIN_TEMPLATE["history"],
    log:
        paths.log("chains", "{dataset}", "alice"),
    benchmark:
        paths.benchmark("chains", "{dataset}", "alice")
    conda:
        "../../envs/rvae.yaml"
    threads: config["threads_per_job"]
    resources:
        gpu=gpu_resource,
        mem_mb=4000,
        runtime=120,
    params:
        # her part only: k and the other parts change R1 and the hops, not her template
        labels=lambda w: job_params.chain_part(config, w.dataset, "alice"),
        chain=None,
        lab="alice",
        run=None,
        training=lambda w: job_params.chain_training_params(config, w.dataset, "alice"),
        architecture=lambda w: job_params.architecture_params(config, w.dataset),
        rho=None,
        checkpoint=paths.CHAIN_TEMPLATE_CHECKPOINT,
        max_fraction=None,
    script:
        "../scripts/chain_train.py"


rule chain_rosetta:
    input:
        unpack(dataset_data),
        model=paths.CHAIN_TEMPLATE["model"],
        embedding=paths.CHAIN_TEMPLATE["embedding"],
    output:
        paths.CHAIN_ORIGIN,
    log:
        paths.log("chains", "{dataset}", "origin"),
    conda:
        "../../envs/rvae.yaml"
    params:
        labels=lambda w: job_params.chain_part(
            config, w.dataset, chains.EXPORTS["origin"][0]
        ),
        k=lambda w: config["chains"][w.dataset]["k"],
        seed=lambda w: job_params.chain_rosetta_seed(config, w.dataset, "origin"),
        max_fraction=config["max_rosetta_fraction"],
    script:
        "../scripts/chain_rosetta.py"


rule chain_export:
    input:
        unpack(dataset_data),
        model=paths.fill(
            paths.CHAIN_RUN["model"],
            **dict(zip(("lab", "run"), chains.EXPORTS["relay"])),
        ),
        embedding=paths.fill(
            paths.CHAIN_RUN["embedding"],
            **dict(zip(("lab", "run"), chains.EXPORTS["relay"])),
        ),
    output:
        paths.CHAIN_RELAY,
    log:
        paths.log("chains", "{dataset}", "relay", "seed{seed}"),
    conda:
        "../../envs/rvae.yaml"
    params:
        labels=lambda w: job_params.chain_part(
            config, w.dataset, chains.EXPORTS["relay"][0]
        ),
        k=lambda w: config["chains"][w.dataset]["k"],
        seed=lambda w: job_params.chain_rosetta_seed(config, w.dataset, "relay", w.seed),
        max_fraction=config["max_rosetta_fraction"],
    script:
        "../scripts/chain_rosetta.py"


rule chain_train:
    input:
        unpack(chain_run_inputs),
    output:
        model=paths.CHAIN_RUN["model"],
        embedding=paths.CHAIN_RUN["embedding"],
        history=paths.CHAIN_RUN["history"],
    log:
        paths.log("chains", "{dataset}", "{lab}", "{run}", "seed{seed}"),
    benchmark:
        paths.benchmark("chains", "{dataset}", "{lab}", "{run}", "seed{seed}")
    conda:
        "../../envs/rvae.yaml"
    threads: config["threads_per_job"]
    resources:
        gpu=gpu_resource,
        mem_mb=4000,
        runtime=120,
    params:
        labels=lambda w: job_params.chain_part(config, w.dataset, w.lab),
        chain=lambda w: job_params.chain_settings(config, w.dataset),
        lab=lambda w: w.lab,
        run=lambda w: w.run,
        training=lambda w: job_params.chain_training_params(
            config, w.dataset, w.lab, w.run, w.seed
        ),
        architecture=lambda w: job_params.architecture_params(config, w.dataset),
        rho=lambda w: job_params.chain_rho(config, w.dataset, w.run),
        checkpoint=paths.CHAIN_RUN_CHECKPOINT,
        max_fraction=config["max_rosetta_fraction"],
    script:
        "../scripts/chain_train.py"


rule chain_convergence:
    input:
        unpack(budget_record),
        runs=chain_convergence_files,
    output:
        paths.CHAIN_CONVERGENCE,
    log:
        paths.log("chains", "{dataset}", "convergence"),
    conda:
        "../../envs/rvae.yaml"
    params:
        chain=lambda w: job_params.chain_settings(config, w.dataset),
        runs=lambda w: targets.chain_convergence_runs(config, w.dataset),
        rule=lambda w: job_params.plateau_rule(config, w.dataset),
    script:
        "../scripts/chain_convergence.py"


rule chain_arms:
    input:
        chain_arm_files,
    output:
        paths.CHAIN_SEEDS,
    log:
        paths.log("chains", "{dataset}", "arms"),
    conda:
        "../../envs/rvae.yaml"
    params:
        chain=lambda w: job_params.chain_settings(config, w.dataset),
        files=lambda w: targets.chain_arm_inputs(config, w.dataset),
        seeds=list(range(config["n_seeds"])),
    script:
        "../scripts/chain_arms.py"


rule chain_table:
    input:
        lambda w: targets.files_in(targets.chain_table_inputs(config)),
    output:
        csv=report(
            paths.fill(paths.CHAIN_TABLE, ext="csv"),
            category="Chains",
            caption="../report/chain_table.rst",
            labels={"table": "chain", "format": "csv"},
        ),
        parquet=paths.fill(paths.CHAIN_TABLE, ext="parquet"),
        md=paths.fill(paths.CHAIN_TABLE, ext="md"),
    log:
        paths.log("tables", "chain"),
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    params:
        files=lambda w: targets.chain_table_inputs(config),
        chains=lambda w: job_params.canonical(config["chains"]),
    script:
        "../scripts/chain_table.py"


rule figure_chain:
    input:
        paths.fill(paths.CHAIN_TABLE, ext="parquet"),
    output:
        png=report(
            paths.fill(paths.FIGURE, name="chain", ext="png"),
            category="Chains",
            caption="../report/chain_figure.rst",
            labels={"figure": "chain"},
        ),
        pdf=paths.fill(paths.FIGURE, name="chain", ext="pdf"),
    log:
        paths.log("figures", "chain"),
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    script:
        "../scripts/figure_chain.py"
