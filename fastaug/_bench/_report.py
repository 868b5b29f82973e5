"""The report of ``fastaug bench`` for people: the Markdown table with its notes, and the bar chart.

Both take the JSON-ready report that ``fastaug._bench._measure.measure`` returns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastaug._bench import _optional, _transforms

__all__ = ["LABELS", "plot", "render_markdown"]

LABELS = {
    "fastaug": "fastaug ImageDataGenerator",
    "keras": "Keras ImageDataGenerator",
    "cv2": "OpenCV per-image loop",
    "albumentations": "albumentations Compose",
    "torchvision": "torchvision v2 per image",
    "scipy": "scipy.ndimage per channel",
    "kornia": "kornia.augmentation (batch)",
}


def _fmt(x: float | None, spec: str, suffix: str = "") -> str:
    return "-" if x is None else f"{x:{spec}}{suffix}"


def render_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: title, command, machine notes, table, notes."""
    s, m = report["settings"], report["machine"]
    v = m["versions"]
    blas = m["blas"]
    blas_threads = blas["threads"] if blas["threads"] is not None else (
        ", ".join(f"{k}={val}" for k, val in blas["env"].items())
        or "not limited by environment variables (the library's default)")
    lines = [
        f"## fastaug bench: images/s, median of {s['rounds']} interleaved rounds",
        "",
        f"Command: `{report.get('command', 'fastaug bench')}`",
        "",
        (f"- CPU: {m['cpu']}; {m['logical_cores']} logical cores, {m['usable_cores']} usable "
         f"by this process; {m['platform']}"),
        "- " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- BLAS: {blas['name']} {blas['version'] or ''}".rstrip()
        + f"; threads: {blas_threads}",
        (f"- threads: fastaug num_threads={s['threads']}, cv2.setNumThreads({s['threads']}), "
         f"torch.set_num_threads({s['threads']})"),
        (f"- load average (1/5/15 min) before: {' / '.join(map(str, m['load_before'] or []))}; "
         f"after: {' / '.join(map(str, m['load_after'] or []))}; other processes used "
         f"{_fmt(m['other_processes_cores'], '.2f')} cores during the run; set-up "
         f"{report['setup_s']:.0f} s, timing {report['timing_s']:.0f} s"),
    ]
    lines += [f"- **WARNING**: {w}" for w in report["warnings"]]
    lines += [
        "",
        "| images | batch | config | library | images/s | IQR % | fastaug / this |",
        "|---|--:|---|---|--:|--:|--:|",
    ]
    for r in report["results"]:
        few = (f" ({r['images_per_call']} images per call)"
               if r["images_per_call"] < r["batch"] else "")
        ratio = "1.00x (reference)" if r["library"] == "fastaug" else _fmt(r["speedup"], ".2f", "x")
        label = LABELS[r["library"]]
        if r["library"] == "fastaug" and r["config"] in _transforms.TRANSFORM_CONFIGS:
            label = "fastaug.transforms Compose"
        lines.append(
            f"| {r['size']} | {r['batch']} | {r['config']} | {label}{few} "
            f"| {r['images_per_s']:,.0f} | {_fmt(r['iqr_pct'], '.0f')} | {ratio} |")
    generator_configs = [c for c in s["configs"] if c not in _transforms.NOTES]
    lines += [] if not generator_configs else [
        "",
        ("fastaug and Keras: `ImageDataGenerator(...).flow(x, y, batch_size, seed=0)`, one "
        "float32 batch per call (geometric: rotation 30, shifts 0.1, zoom 0.2, shear 0.2, "
        "both flips, fill \"nearest\"; zca: the same plus `zca_whitening=True`, fitted on "
        "the same subset; flips: both flips only). OpenCV: per-image `cv2.warpAffine` "
        "(`cv2.flip` for flips) with pre-drawn matrices, then float32. albumentations: "
        "per-image `Compose([Affine, HorizontalFlip, VerticalFlip])`. torchvision: per-image "
        "v2 `Compose` on uint8 CHW tensors. scipy: Keras's per-channel "
        "`affine_transform` on float32 (Keras's float32 slice flip for flips). Libraries "
        "without ZCA whiten with the d x d matrix, one GEMM per batch. Slow libraries on "
        "large images run a few images per call, scaled to images/s. IQR: spread of the "
        "per-round times."),
    ]
    chosen = [c for c in s["configs"] if c in _transforms.NOTES]
    if chosen:
        lines += [
            "",
            ("fastaug.transforms configs: `fastaug.transforms.Compose` on the batch against "
             "torchvision v2's `Compose` per image (then `torch.stack`), albumentations' "
             "`Compose` per image (then `np.stack`) and `kornia.augmentation` on the NCHW "
             "batch (uint8 converted to float in [0, 1] inside the timed call). "
             + " ".join(_transforms.NOTES[c] for c in chosen)),
        ]
    if report["skipped"]:
        lines += ["", "Skipped:"]
        for sk in report["skipped"]:
            where = f" ({sk['size']} {sk['config']})" if sk["size"] else ""
            lines.append(f"- {LABELS[sk['library']]}{where}: {sk['reason']}")
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> None:
    """Draw images/s per library, grouped by (size, config), as a log-scale bar chart."""
    matplotlib = _optional.import_module("matplotlib")
    matplotlib.use("Agg")
    plt = _optional.import_module("matplotlib.pyplot")

    groups = list(dict.fromkeys((r["size"], r["config"]) for r in report["results"]))
    libs = list(dict.fromkeys(r["library"] for r in report["results"]))
    val = {(r["size"], r["config"], r["library"]): r["images_per_s"] for r in report["results"]}
    width = 0.8 / max(1, len(libs))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(groups) + 2), 4.5))
    for j, lib in enumerate(libs):
        xs = [i + j * width for i, g in enumerate(groups) if (*g, lib) in val]
        ys = [val[(*g, lib)] for g in groups if (*g, lib) in val]
        ax.bar(xs, ys, width, label=LABELS[lib])
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(groups))])
    ax.set_xticklabels([f"{s}\n{c}" for s, c in groups])
    ax.set_yscale("log")
    ax.set_ylabel("images/s (log scale)")
    ax.set_title(f"fastaug bench ({report['machine']['cpu']})", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
