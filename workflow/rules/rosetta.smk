rule select_rosetta:
    input:
        unpack(dataset_data),
        model="results/models/templates/{dataset}/d1.pt",
        embedding="results/embeddings/templates/{dataset}/d1.parquet",
    output:
        "results/rosetta/{dataset}/{method}-k{k}.parquet",
    log:
        "results/logs/select_rosetta/{dataset}/{method}-k{k}.log",
    conda:
        "../../envs/rvae.yaml"
    params:
        seed=config["rosetta_seed"],
    script:
        "../scripts/select_rosetta.py"
