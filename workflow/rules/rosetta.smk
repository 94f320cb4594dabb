rule select_rosetta:
    input:
        unpack(dataset_data),
        model=paths.fill(paths.TEMPLATE_MODEL, which="d1"),
        embedding=paths.fill(paths.TEMPLATE_EMBEDDING, which="d1"),
    output:
        paths.ROSETTA,
    log:
        paths.log("select_rosetta", "{dataset}", "{method}-k{k}"),
    conda:
        "../../envs/rvae.yaml"
    params:
        seed=lambda w: job_params.seed_of(
            config, seeds.rosetta_role(w.dataset, f"{w.method}-k{w.k}")
        ),
        max_fraction=config["max_rosetta_fraction"],
    script:
        "../scripts/select_rosetta.py"
