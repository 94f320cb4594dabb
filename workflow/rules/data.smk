rule prepare_data:
    input:
        unpack(raw_data_files),
    output:
        x=paths.DATA_X,
        points=paths.DATA_POINTS,
        info=paths.DATA_INFO,
    log:
        paths.log("prepare_data", "{dataset}"),
    benchmark:
        paths.benchmark("prepare_data", "{dataset}")
    conda:
        "../../envs/rvae.yaml"
    params:
        kind=lambda w: config["datasets"][w.dataset]["kind"],
        load=lambda w: job_params.canonical(config["datasets"][w.dataset]["load"]),
        max_points=lambda w: config["datasets"][w.dataset]["max_points"],
        split=job_params.canonical(config["split"]),
    script:
        "../scripts/prepare_data.py"
