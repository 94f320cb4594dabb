rule prepare_data:
    input:
        unpack(raw_data_files),
    output:
        x="results/data/{dataset}/x.npy",
        points="results/data/{dataset}/points.parquet",
        info="results/data/{dataset}/info.json",
    log:
        "results/logs/prepare_data/{dataset}.log",
    benchmark:
        "results/benchmarks/prepare_data/{dataset}.tsv"
    conda:
        "../../envs/rvae.yaml"
    params:
        kind=lambda w: config["datasets"][w.dataset]["kind"],
        load=lambda w: canonical(config["datasets"][w.dataset]["load"]),
        max_points=lambda w: config["datasets"][w.dataset]["max_points"],
        split=canonical(config["split"]),
    script:
        "../scripts/prepare_data.py"
