"""Preflight of a running Ray cluster: the nodes and GPUs the config asks for are there, alive."""

from __future__ import annotations

from thinkj_verl.preflight.report import Report, error_text, quiet


def cluster_gpu_problem(nodes: list[dict], nnodes: int, per_node: int) -> tuple[bool, str]:
    """(enough?, detail) for ``ray.nodes()`` entries: ``nnodes`` alive nodes with ``per_node`` GPUs each.

    >>> cluster_gpu_problem([{"Alive": True, "Resources": {"GPU": 8.0}, "NodeManagerAddress": "10.0.0.1"}], 2, 8)
    (False, '1 alive node(s) with 8 GPUs in total (10.0.0.1: 8); the config needs 2 x 8 = 16: start ray on the missing node(s) (examples/ray_start_worker.sh) and check every GPU is visible')
    """
    alive = [n for n in nodes if n.get("Alive")]
    gpus = [(n.get("NodeManagerAddress", "?"), int(n.get("Resources", {}).get("GPU", 0))) for n in alive]
    total = sum(g for _, g in gpus)
    full_nodes = sum(1 for _, g in gpus if g >= per_node)
    detail = (f"{len(alive)} alive node(s) with {total} GPUs in total "
              f"({', '.join(f'{address}: {g}' for address, g in gpus)})")
    need = nnodes * per_node
    if total >= need and full_nodes >= nnodes:
        return True, f"{detail}; the config needs {nnodes} x {per_node} = {need}"
    return False, (f"{detail}; the config needs {nnodes} x {per_node} = {need}: start ray on the missing "
                   "node(s) (examples/ray_start_worker.sh) and check every GPU is visible")


def check_cluster(report: Report, config, address: str) -> None:
    """Thin: connect, read the node table, disconnect (needs a running cluster)."""
    try:
        import ray

        with quiet():
            ray.init(address=address, logging_level="ERROR", log_to_driver=False)
            try:
                nodes = ray.nodes()
            finally:
                ray.shutdown()
    except Exception as exc:
        report.fail("ray cluster", f"{address}: {error_text(exc)}; start the head (examples/ray_start_head.sh) and pass its ip:port")
        return
    enough, detail = cluster_gpu_problem(nodes, int(config.trainer.nnodes), int(config.trainer.n_gpus_per_node))
    (report.ok if enough else report.fail)("ray cluster GPUs", detail)
