# Sharing a latent space between labs: Alice exports Rosetta points, Bob trains on them.


rule export_rosetta:
    input:
        unpack(dataset_data),
        model="results/models/templates/{dataset}/joint.pt",
    output:
        points="results/export/{dataset}/rosetta.parquet",
        summary=report(
            "results/export/{dataset}/rosetta.md",
            caption="../report/export.rst",
            category="Sharing",
        ),
    log:
        "results/logs/export_rosetta/{dataset}.log",
    conda:
        "../../envs/rvae.yaml"
    params:
        export=lambda w: export_settings(w.dataset),
        seed=config["rosetta_seed"],
    script:
        "../scripts/export_rosetta.py"


rule train_portable:
    input:
        unpack(portable_inputs),
    output:
        model="results/portable/{name}/model.pt",
        embedding="results/portable/{name}/embedding.parquet",
        history="results/portable/{name}/history.parquet",
        shared="results/portable/{name}/shared_points.parquet",
        rho="results/portable/{name}/rho.json",
    log:
        "results/logs/train_portable/{name}.log",
    benchmark:
        "results/benchmarks/train_portable/{name}.tsv"
    conda:
        "../../envs/rvae.yaml"
    threads: config["threads_per_job"]
    resources:
        gpu=gpu_resource,
        mem_mb=4000,
        runtime=120,
    params:
        training=lambda w: training_params(
            PORTABLE[w.name]["dataset"], PORTABLE[w.name]["seed"]
        ),
        architecture=lambda w: architecture_params(PORTABLE[w.name]["dataset"]),
        rho=portable_rho,
    script:
        "../scripts/train_portable.py"


rule figure_portable:
    input:
        embedding="results/portable/{name}/embedding.parquet",
        model="results/portable/{name}/model.pt",
        rosetta=lambda w: PORTABLE[w.name]["rosetta"],
    output:
        report(
            "results/portable/{name}/latent_space.png",
            caption="../report/portable.rst",
            category="Sharing",
        ),
    log:
        "results/logs/figure_portable/{name}.log",
    localrule: True
    conda:
        "../../envs/rvae.yaml"
    script:
        "../scripts/figure_portable.py"
