"""``rgbd``: NYU Depth v2 labelled set (Silberman et al., ECCV 2012), 1449 indoor RGB-D frames, with
the scene descriptions of Kong et al. (CVPR 2014, "What are you talking about? Text-to-image
coreference"); views ``image`` (the RGB frame) and ``text`` (the description).

Labels: the NYU ``sceneTypes`` of each frame (27 raw types such as bedroom, kitchen, living_room). The
JECL paper reports 13 categories without saying how they were formed; we keep the scene types with
at least ``min_scene_images`` frames (default 15) and drop the frames of rarer types (or keep exactly
the types listed in ``scene_types``). From the per-type counts published with NYUv2 as we recall
them (bedroom 383, kitchen 225, living_room 221, bathroom 121, dining_room 117, office 78,
home_office 50, classroom 49, bookstore 36, playroom 31, furniture_store 27, study 25,
reception_room 17, every other type 10 or fewer) this leaves 13 types; the card records the counts
actually found, so the choice can be checked on the real file.

Raw folder:

- ``nyu_depth_v2_labeled.mat`` (MATLAB v7.3 / HDF5; downloaded from ``mat_url`` when absent; 2.8 GB;
  frames are read one at a time);
- the descriptions, either ``descriptions/<i>.txt`` (one file per frame, ``i`` the 1-based frame
  index, zero padding allowed) or a captions file ``descriptions.json`` / ``descriptions.csv`` keyed
  by the 1-based index; when neither is present and ``descriptions_url`` is given, that zip is
  downloaded and unpacked into the raw folder.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from mvbench.data import DatasetCard, MultiViewDataset
from mvbench.data.download import DownloadError, download
from mvbench.data.sources import DatasetSource, DatasetUnavailableError
from mvbench.features.builder import ImageTextParams, Record, build_image_text, read_captions

NYU_URL = "http://horatio.cs.nyu.edu/mit/silberman/nyu_depth_v2/nyu_depth_v2_labeled.mat"
MAT_NAME = "nyu_depth_v2_labeled.mat"
#: sha256 of the official labelled set (2,972,037,809 bytes), as recorded by independent users of the file.
NYU_SHA256 = "2d724b0c0ab358aa1ce5df855e5bd14a2279ab7202efe22f32a30d612dcb86aa"


@dataclass
class RgbdParams(ImageTextParams):
    min_scene_images: int = 15
    """Keep scene types with at least this many frames."""
    scene_types: str = ""
    """Comma-separated scene types to keep instead ('' = use min_scene_images)."""
    mat_url: str = NYU_URL
    mat_sha256: str = NYU_SHA256
    """Verified after download; '' skips the check (only for a deliberately different file)."""
    descriptions_url: str = ""
    """A zip holding descriptions/<i>.txt (or descriptions.json/.csv); used when they are not in the raw folder."""


def mat_strings(f: h5py.File, name: str) -> list[str]:
    """A MATLAB v7.3 cell array of strings (HDF5 object references to uint16 char arrays)."""
    refs = np.asarray(f[name]).ravel()
    return ["".join(chr(c) for c in np.asarray(f[r]).ravel()) for r in refs]


def read_descriptions(raw: Path) -> dict[int, str]:
    """``{1-based frame index: description}`` from descriptions/ or descriptions.json/.csv."""
    folder = raw / "descriptions"
    if folder.is_dir():
        return {
            int(p.stem): p.read_text(encoding="utf-8", errors="replace").strip()
            for p in folder.glob("*.txt")
            if p.stem.isdigit()
        }
    for name in ("descriptions.json", "descriptions.csv"):
        if (raw / name).exists():
            return {int(k): " ".join(v["captions"]) for k, v in read_captions(raw / name).items()}
    raise FileNotFoundError(
        f"no scene descriptions in {raw}: add descriptions/<i>.txt or descriptions.json "
        "(Kong et al., CVPR 2014), or give --param descriptions_url=URL_OF_ZIP"
    )


def has_descriptions(raw: Path) -> bool:
    return (raw / "descriptions").is_dir() or any((raw / n).exists() for n in ("descriptions.json", "descriptions.csv"))


class _Frame:
    """Lazy reader of frame ``i`` (H x W x 3 uint8) from the open .mat file."""

    def __init__(self, images: h5py.Dataset, i: int) -> None:
        self.images, self.i = images, i

    def __call__(self) -> np.ndarray:
        return np.asarray(self.images[self.i]).transpose(2, 1, 0)  # stored as (3, W, H)


class NyuRgbd(DatasetSource):
    description = "NYU Depth v2 labelled frames + Kong et al. scene descriptions, 13 scene types (image, text)"
    n_clusters = 13
    Config = RgbdParams

    def default_raw(self) -> Path | None:
        return self.paths.raw_folder("rgbd")

    def build(self, raw: Path | None, params: RgbdParams) -> MultiViewDataset:
        raw = Path(raw) if raw is not None else self.default_raw()
        try:
            download(params.mat_url, raw / MAT_NAME, sha256=params.mat_sha256 or None)
            if not has_descriptions(raw) and params.descriptions_url:
                archive = download(params.descriptions_url, raw / "descriptions.zip")
                with zipfile.ZipFile(archive) as zf:
                    zf.extractall(raw)
            descriptions = read_descriptions(raw)
        except (DownloadError, FileNotFoundError) as exc:
            raise DatasetUnavailableError(
                f"{exc} (raw folder {raw}); from a local copy: mvbench datasets prepare {self.name} --raw DIR "
                f"(a folder holding {MAT_NAME} and descriptions/)"
            ) from None
        with h5py.File(raw / MAT_NAME, "r") as f:
            scenes = mat_strings(f, "sceneTypes")
            counts = Counter(scenes)
            wanted = [s.strip() for s in params.scene_types.split(",") if s.strip()]
            keep = set(wanted) if wanted else {s for s, n in counts.items() if n >= params.min_scene_images}
            images = f["images"]
            if images.shape[0] != len(scenes):
                raise ValueError(f"{MAT_NAME}: {images.shape[0]} images but {len(scenes)} scene types")
            records = [
                Record(
                    f"nyu{i + 1:04d}",
                    _Frame(images, i),
                    [descriptions[i + 1]] if descriptions.get(i + 1) else [],
                    scenes[i],
                )
                for i in range(len(scenes))
                if scenes[i] in keep
            ]
            card = DatasetCard(
                name="rgbd",
                source=f"{NYU_URL} + scene descriptions of Kong et al. (CVPR 2014)",
                citation="Silberman, Hoiem, Kohli, Fergus (2012). Indoor Segmentation and Support Inference from "
                "RGBD Images. ECCV. Kong, Lin, Bansal, Urtasun, Fidler (2014). What are you talking "
                "about? Text-to-Image Coreference. CVPR.",
                license="NYU Depth v2: research use; descriptions: research use",
                description=self.description + "; scene types kept: " + ", ".join(sorted(keep)),
                extra={"scene_type_counts": dict(counts.most_common()), "min_scene_images": params.min_scene_images},
            )
            return build_image_text(records, card, params.choice(), self.paths.data_dir / "features")
