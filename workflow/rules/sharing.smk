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
        seed=lambda w: job_params.seed_of(
            config, job_params.rosetta_role(w.dataset, "export")
        ),
    script:
        "../scripts/export_rosetta.py"


rule train_portable:
    input:
        unpack(portable_inputs),
    output:
        model=paths.fill(paths.PORTABLE, file="model.pt"),
        embedding=paths.fill(paths.PORTABLE, file="embedding.parquet"),
        history=paths.fill(paths.PORTABLE, file="history.parquet"),
        shared=paths.fill(paths.PORTABLE, file="shared_points.parquet"),
        rho=paths.fill(paths.PORTABLE, file="rho.json"),
    log:
        paths.log("train_portable", "{name}"),
    benchmark:
        paths.benchmark("train_portable", "{name}")
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
            config["portable"][w.name]["dataset"],
            job_params.seed_of(
                config, f"portable/{w.name}/{config['portable'][w.name]['seed']}"
            ),
        ),
        architecture=lambda w: job_params.architecture_params(
            config, config["portable"][w.name]["dataset"]
        ),
        rho=lambda w: job_params.portable_rho(config, w.name),
    script:
        "../scripts/train_portable.py"


rule figure_portable:
    input:
        embedding=rules.train_portable.output.embedding,
        model=rules.train_portable.output.model,
        rosetta=lambda w: config["portable"][w.name]["rosetta"],
    output:
        report(
            paths.fill(paths.PORTABLE, file="latent_space.png"),
            caption="../report/portable.rst",
            category="Sharing",
        ),
    log:
        paths.log("figure_portable", "{name}"),
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    script:
        "../scripts/figure_portable.py"
