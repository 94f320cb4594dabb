# Sharing a latent space between labs: Alice exports Rosetta points, Bob trains on them.


rule export_rosetta:
    input:
        unpack(dataset_data),
        model=paths.fill(paths.TEMPLATE_MODEL, which="joint"),
    output:
        points=paths.EXPORT,
        summary=report(
            paths.EXPORT_SUMMARY,
            caption="../report/export.rst",
            category="Sharing",
        ),
    log:
        paths.log("export_rosetta", "{dataset}"),
    conda:
        "../../envs/rvae.yaml"
    params:
        export=lambda w: job_params.export_settings(config, w.dataset),
        preprocessing=lambda w: job_params.export_preprocessing(config, w.dataset),
        seed=lambda w: job_params.seed_of(
            config, seeds.rosetta_role(w.dataset, "export")
        ),
    script:
        "../scripts/export_rosetta.py"


rule train_shared:
    input:
        unpack(shared_inputs),
    output:
        model=paths.fill(paths.SHARED_RUN, file="model.pt"),
        embedding=paths.fill(paths.SHARED_RUN, file="embedding.parquet"),
        history=paths.fill(paths.SHARED_RUN, file="history.parquet"),
        shared=paths.fill(paths.SHARED_RUN, file="shared_points.parquet"),
        rho=paths.fill(paths.SHARED_RUN, file="rho.json"),
    log:
        paths.log("train_shared", "{name}"),
    benchmark:
        paths.benchmark("train_shared", "{name}")
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
            config["shared"][w.name]["dataset"],
            job_params.seed_of(
                config, seeds.shared_role(w.name, config["shared"][w.name]["seed"])
            ),
        ),
        architecture=lambda w: job_params.architecture_params(
            config, config["shared"][w.name]["dataset"]
        ),
        rho=lambda w: job_params.shared_rho(config, w.name),
        align=lambda w: config["shared"][w.name]["align"],
        promise=lambda w: job_params.shared_promise(config, w.name),
    script:
        "../scripts/train_shared.py"


rule figure_shared:
    input:
        embedding=rules.train_shared.output.embedding,
        model=rules.train_shared.output.model,
        rosetta=lambda w: config["shared"][w.name]["rosetta"],
    output:
        report(
            paths.fill(paths.SHARED_RUN, file="latent_space.png"),
            caption="../report/shared.rst",
            category="Sharing",
        ),
    log:
        paths.log("figure_shared", "{name}"),
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    script:
        "../scripts/figure_shared.py"


rule confidence_table:
    input:
        lambda w: targets.files_in(targets.confidence_inputs(config)),
    output:
        csv=report(
            paths.fill(paths.CONFIDENCE_TABLE, ext="csv"),
            category="Portability",
            caption="../report/confidence.rst",
            labels={"table": "confidence", "format": "csv"},
        ),
        parquet=paths.fill(paths.CONFIDENCE_TABLE, ext="parquet"),
        md=paths.fill(paths.CONFIDENCE_TABLE, ext="md"),
        png=report(
            paths.fill(paths.FIGURE, name="confidence", ext="png"),
            category="Portability",
            caption="../report/confidence.rst",
        ),
        pdf=paths.fill(paths.FIGURE, name="confidence", ext="pdf"),
    log:
        paths.log("tables", "confidence"),
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    params:
        files=lambda w: targets.confidence_inputs(config),
    script:
        "../scripts/confidence_table.py"
