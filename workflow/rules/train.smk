rule train_template:
    input:
        unpack(dataset_data),
    output:
        model="results/models/templates/{dataset}/{which}.pt",
        embedding="results/embeddings/templates/{dataset}/{which}.parquet",
        history="results/history/templates/{dataset}/{which}.parquet",
    log:
        "results/logs/train_template/{dataset}/{which}.log",
    benchmark:
        "results/benchmarks/train_template/{dataset}/{which}.tsv"
    conda:
        "../../envs/rvae.yaml"
    threads: config["threads_per_job"]
    resources:
        gpu=gpu_resource,
        mem_mb=4000,
        runtime=120,
    params:
        training=lambda w: training_params(w.dataset, config["template_seed"]),
        architecture=lambda w: architecture_params(w.dataset),
        checkpoint="results/checkpoints/templates/{dataset}/{which}.ckpt",
    script:
        "../scripts/train_template.py"
