"""Fourteen community multi-view ``.mat`` files registered as named datasets.

Each dataset's raw source is one published .mat file, looked up as ``<raw root>/mat/<file>``
(``$MVBENCH_RAW_DIR``) or given with ``mvbench datasets prepare NAME --raw FILE``. Preparing
checks the file's sha256 against the pinned one (a different file is refused, naming both hashes,
unless ``--allow-variant``: then the card records the variant's hash and every cell shows it),
imports it with :func:`mvbench.data.matlab.import_mat` (view names fixed here, since most files
carry none) and checks n, view dims and K.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from mvbench.data import DataValidationError, MultiViewDataset
from mvbench.data.download import sha256_file
from mvbench.data.matlab import import_mat
from mvbench.data.sources import VARIANT_KEY, DatasetSource

CHUANBIN = ("ChuanbinZhang/Multi-view-datasets", "03ead31e6538322e4e0701c3c28a01595c1a015d")
ZSKONG_ORL = ("zskong/Multi-view-data", "fbaac6703994982ea37da6a7e6414c60dc6eb869")
ZSKONG_BDGP = ("zskong/Multi-view-data", "5d8d18f80442a280bc5179857a1fc8e99d738923")
YILIN = ("YilinZhang107/Multi-view-Datasets", "2475fef9430ac1cacc7bf4f8d284d4fd14919ca5")
# The two repositories below were not crawled at a known commit: HEAD is fetched and the sha256 pins the bytes.
DCP = ("XLearning-SCU/2022-TPAMI-DCP", "HEAD")
DSE_FDMC = ("myliu2048/DSE-FDMC", "c7a82c7e525a28f1ff183a906fc3ebdfa5d1d3d2")
CELT = ("scutbioinformatics/CELT", "3a66b240d7957e7b6dfbe52ba26d0f41f55255a7")
DCG = ("zhangyuanyang21/2025-AAAI-DCG", "HEAD")
LICENSE_UNSTATED = "not stated by the distributor; research use"


@dataclass(frozen=True)
class MatSpec:
    """One published .mat file and what it must contain."""

    file: str
    repo: tuple[str, str]  # (owner/name, commit)
    repo_path: str
    sha256: str
    n: int
    n_clusters: int
    views: dict[str, tuple[int, str]]  # name -> (dim, kind)
    citation: str
    description: str
    license: str = LICENSE_UNSTATED
    notes: str = ""
    import_options: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        owner_repo, commit = self.repo
        return f"https://raw.githubusercontent.com/{owner_repo}/{commit}/{self.repo_path}"


SPECS: dict[str, MatSpec] = {
    "handwritten": MatSpec(
        "handwritten.mat",
        CHUANBIN,
        "Handwritten.mat",
        "6092a69891afa22785bffd5a4348f52d49a764aa5d40751ec2c4dc0f6ed48a44",
        2000,
        10,
        {
            "fac": (216, "profile correlations"),
            "fou": (76, "Fourier coefficients of the character shapes"),
            "kar": (64, "Karhunen-Loeve coefficients"),
            "mor": (6, "morphological features"),
            "pix": (240, "pixel averages in 2x3 windows"),
            "zer": (47, "Zernike moments"),
        },
        "Duin, R. (1998). Multiple Features [Dataset]. UCI Machine Learning Repository. "
        "https://doi.org/10.24432/C5HC70",
        "UCI mfeat handwritten digits 0-9 (200 each), six feature sets",
        license="CC BY 4.0",
        notes="view order as in the file (fac, fou, kar, mor, pix, zer), identified by dimension",
    ),
    "cub10": MatSpec(
        "cub10.mat",
        YILIN,
        "CUB.mat",
        "2fa9f3f4d75070470de6aeb8e91b51e825a5f3e4135c6baf943f73054ad60174",
        600,
        10,
        {"image": (1024, "GoogLeNet image features"), "text": (300, "doc2vec embedding of the captions")},
        "Wah, C., Branson, S., Welinder, P., Perona, P., Belongie, S. (2011). The Caltech-UCSD Birds-200-2011 "
        "Dataset. CNS-TR-2011-001; captions: Reed, S., Akata, Z., Lee, H., Schiele, B. (2016). Learning Deep "
        "Representations of Fine-Grained Visual Descriptions. CVPR",
        "CUB-200-2011, 10 bird classes (60 each): image and caption features",
        notes="stored as x1/x2/gt _train (480) and _test (120); concatenated train then test",
    ),
    "wikipedia": MatSpec(
        "wikipedia.mat",
        CHUANBIN,
        "Wikipedia.mat",
        "6eed8527704611dff921243d86dbec5621312b8c6636086ae3677508b5d3cb03",
        2866,
        10,
        {"image": (128, "SIFT bag-of-visual-words histogram"), "text": (10, "LDA topic proportions")},
        "Rasiwasia, N., Costa Pereira, J., Coviello, E., Doyle, G., Lanckriet, G., Levy, R., Vasconcelos, N. "
        "(2010). A New Approach to Cross-Modal Multimedia Retrieval. ACM Multimedia",
        "Wikipedia featured articles: image-text pairs in 10 categories",
        notes="the file's view_meaning lists ('word', 'SIFT'), the reverse of its view order (128-d SIFT "
        "first, 10-d LDA second); views are named here by dimension",
    ),
    "msrc_v1": MatSpec(
        "msrc_v1.mat",
        CHUANBIN,
        "MSRC-v5.mat",
        "3b3adfad0b4e484cef1c1ecd64ec887ddde9f7655ed638e2fee1f047ae2c9ff0",
        210,
        7,
        {
            "cm": (24, "colour moments"),
            "hog": (576, "HOG"),
            "gist": (512, "GIST"),
            "lbp": (256, "LBP"),
            "centrist": (254, "CENTRIST"),
        },
        "Winn, J., Jojic, N. (2005). LOCUS: Learning Object Classes with Unsupervised Segmentation. ICCV",
        "MSRC-v1 object images, 7 classes (30 each), five image descriptors",
        notes="descriptor names as commonly given for these dimensions; the file carries no view names",
    ),
    "bbcsport": MatSpec(
        "bbcsport.mat",
        CHUANBIN,
        "BBCSport.mat",
        "98dbf2c405c132cc7e6558fd5da904626e7069915c510392e71baeaf4925d708",
        544,
        5,
        {
            "seg1": (3183, "term counts of the first half of each article"),
            "seg2": (3203, "term counts of the second half of each article"),
        },
        "Greene, D., Cunningham, P. (2006). Practical Solutions to the Problem of Diagonal Dominance in Kernel "
        "Document Clustering. ICML",
        "BBC Sport news articles in 5 topics; each article split into two segments (views)",
    ),
    "3sources": MatSpec(
        "3sources.mat",
        CHUANBIN,
        "3Sources.mat",
        "8a94f0e554c5782bc87561314f1bad8ca206910125734f4dbe2492956528c9ae",
        169,
        6,
        {"bbc": (3560, "term counts"), "guardian": (3631, "term counts"), "reuters": (3068, "term counts")},
        "Greene, D., Cunningham, P. (2009). A Matrix Factorization Approach for Integrating Multiple Data "
        "Views. ECML PKDD",
        "169 news stories reported by BBC, The Guardian and Reuters, 6 topics",
        notes="source order from the FMVACC copy of this file, which names its matrices bbc, guardian, reuters",
    ),
    "reuters1200": MatSpec(
        "reuters1200.mat",
        CHUANBIN,
        "Reuters-1200.mat",
        "cf549b72a66d7418a639a940899993c052bab9ec868fd493451cf85cd0d81d14",
        1200,
        6,
        {f"lang{v}": (2000, "bag-of-words in one language (2000 words)") for v in range(5)},
        "Amini, M.-R., Usunier, N., Goutte, C. (2009). Learning from Multiple Partially Observed Views - an "
        "Application to Multilingual Text Categorization. NeurIPS",
        "Reuters RCV1/RCV2 multilingual documents, 6 topics (200 each), 5 language views",
        notes="the views are the English, French, German, Italian and Spanish versions; the file does not say "
        "which is which",
    ),
    "100leaves": MatSpec(
        "100leaves.mat",
        CHUANBIN,
        "100Leaves.mat",
        "4af6d9f6588a720df763580d273dc08014476ac5f64570b0bada8b63b9952f45",
        1600,
        100,
        {f"view{v}": (64, "one of the shape / fine-scale margin / texture histograms") for v in range(3)},
        "Mallah, C., Cope, J., Orwell, J. (2013). Plant Leaf Classification using Probabilistic Integration "
        "of Shape, Texture and Margin Features. Signal Processing, Pattern Recognition and Applications",
        "UCI one-hundred plant species leaves, 16 samples per species, three 64-d descriptors",
        license="CC BY 4.0",
        notes="the file does not say which view is shape, margin or texture",
    ),
    "orl": MatSpec(
        "orl.mat",
        ZSKONG_ORL,
        "data/ORL.mat",
        "1ec6bc9c24ab158cf1680a002d33f436ce63e933600350cea80b119e4f8b6525",
        400,
        40,
        {"gist": (512, "GIST"), "lbp": (59, "LBP"), "hog": (864, "HOG"), "centrist": (254, "CENTRIST")},
        "Samaria, F., Harter, A. (1994). Parameterisation of a Stochastic Model for Human Face "
        "Identification. IEEE Workshop on Applications of Computer Vision",
        "AT&T (ORL) faces, 40 subjects x 10 images, four image descriptors",
        notes="descriptor names as commonly given for these dimensions; the file carries no view names",
    ),
    "bdgp": MatSpec(
        "bdgp.mat",
        ZSKONG_BDGP,
        "Algorithm/large-scale/18.IMVC-CBG(22CVPR)/CVPR22-IMVC-CBG-main/Incomplete/BDGP_fea_Per1.mat",
        "6d0ca61feaf7ed05a2e25b07e4dd9edc921438ce70d89b9f63ea782a09a9d996",
        2500,
        5,
        {
            f"view{v}": (d, "image features of the embryo (extractor not documented)")
            for v, d in enumerate((1000, 500, 250))
        },
        "Cai, X., Wang, H., Huang, H., Ding, C. (2012). Joint Stage Recognition and Anatomical Annotation of "
        "Drosophila Gene Expression Patterns. Bioinformatics 28(12)",
        "Berkeley Drosophila Genome Project embryo images, 5 classes (500 each), three feature views",
        notes="IMVC-CBG 'Per1' file (all samples paired): views stored d x n, labels in a cell (one copy per "
        "view), index{v} lists all samples; its MissingStatus matrix is the generator's template and "
        "is not applied (the views hold data where it says missing)",
    ),
    "scene15": MatSpec(
        "scene15.mat",
        DCP,
        "data/Scene_15.mat",
        "ec33b5e1f53eea04ccacc8b7bdfc6091ed490b04214eb41fd83c05a0a173221f",
        4485,
        15,
        {
            "gist": (20, "GIST (named by dimension)"),
            "lbp": (59, "uniform LBP histogram (named by dimension)"),
            "phog": (40, "PHOG (named by dimension)"),
        },
        "Fei-Fei, L., Perona, P. (2005). A Bayesian Hierarchical Model for Learning Natural Scene Categories. "
        "CVPR; file: Lin, Y. et al. (2022). Dual Contrastive Prediction for Incomplete Multi-view "
        "Representation Learning. IEEE TPAMI",
        "Scene-15, 4485 images of 15 scene categories, three image descriptors (COMPLETER/DCP's file)",
        notes="COMPLETER, DCP, DIVIDE and SURE use views 0+1 (gist, lbp); ICMVC views 2+1; CVCL all three. "
        "The file carries no view names: they are inferred from the dimensions",
    ),
    "mnist_usps": MatSpec(
        "mnist_usps.mat",
        DSE_FDMC,
        "data/MNIST_USPS.mat",
        "0130ae9ce7d395543df841d25e84d99354dcb77993006d390d3c42d4c2e3f056",
        5000,
        10,
        {"mnist": (784, "MNIST pixels (28x28)"), "usps": (784, "USPS pixels resized to 28x28")},
        "Peng, X., Huang, Z., Lv, J., Zhu, H., Zhou, J. T. (2019). COMIC: Multi-view Clustering Without "
        "Parameter Selection. ICML",
        "MNIST-USPS: 5000 digit pairs (500 per class), one MNIST and one USPS image of the same digit",
        notes="the file of the MFLVC family (MFLVC, GCFAgg, SCMVC, CVCL report on it); labels 0-based",
    ),
    "bdgp2v": MatSpec(
        "bdgp2v.mat",
        CELT,
        "BDGP.mat",
        "dd53d29ad7cfd3adf4caf5203f51387b97981d60cd427798acfe1f2481363e11",
        2500,
        5,
        {"visual": (1750, "visual features of the embryo image"), "textual": (79, "textual (annotation) features")},
        "Cai, X., Wang, H., Huang, H., Ding, C. (2012). Joint Stage Recognition and Anatomical Annotation of "
        "Drosophila Gene Expression Patterns. Bioinformatics 28(12)",
        "BDGP, 2-view version: 2500 embryo images of 5 classes, 1750-d visual and 79-d textual features",
        notes="the 2-view BDGP that MFLVC, GCFAgg, SCMVC and CVCL report on; a different file from bdgp "
        "(3 views of 1000/500/250): never compare the two under one name. Stored d x n under 'data'",
    ),
    "synthetic3d": MatSpec(
        "synthetic3d.mat",
        DCG,
        "data/synthetic3d.mat",
        "f5ebb44be9d98550877622b2f6eb4b70ff3dc9a1de3c3797bf3fad9ebb40ba9b",
        600,
        3,
        {f"view{v}": (3, "3-d synthetic coordinates") for v in range(3)},
        "Kumar, A., Rai, P., Daume III, H. (2011). Co-regularized Multi-view Spectral Clustering. NeurIPS "
        "(as distributed with GCFAgg/SCMVC's benchmark files)",
        "Synthetic3d: 600 points of 3 clusters in three 3-d views",
        notes="the file also holds train/test index matrices and random-generator states, which are ignored; "
        "GCFAgg and SCMVC report on it",
        import_options={"views_key": "X", "labels_key": "Y"},
    ),
}


class MatCollectionSource(DatasetSource):
    """A registered community .mat file (subclasses set ``spec``)."""

    spec: ClassVar[MatSpec]

    def default_raw(self) -> Path | None:
        return self.paths.raw_dir / "mat" / self.spec.file

    def _file(self, raw: Path | None) -> Path | None:
        if raw is None:
            return None
        raw = Path(raw)
        if raw.is_dir():
            for candidate in (raw / self.spec.file, raw / "mat" / self.spec.file):
                if candidate.is_file():
                    return candidate
            return None
        return raw if raw.is_file() else None

    def raw_available(self, raw: Path | None) -> bool:
        return self._file(raw) is not None

    def raw_hint(self) -> str:
        return (
            f"download {self.spec.url} and run mvbench datasets prepare {self.name} --raw FILE, "
            f"or set MVBENCH_RAW_DIR to a folder holding "
            f"mat/{self.spec.file}"
        )

    def build(self, raw: Path | None, params: Any) -> MultiViewDataset:
        spec = self.spec
        path = self._file(raw)
        if path is None:
            raise DataValidationError(f"{raw} is not a file: {self.raw_hint()}")
        digest = sha256_file(path)
        if digest != spec.sha256 and not self.allow_variant:
            raise DataValidationError(
                f"{self.name}: {path.name} has sha256 {digest}, not the pinned {spec.sha256} (a different or "
                f"modified file): get the pinned file from {spec.url}, or pass --allow-variant to run this one "
                f"as a recorded variant"
            )
        data = import_mat(path, name=self.name, view_names=list(spec.views), **spec.import_options)
        dims = [d for d, _ in spec.views.values()]
        if (data.n_samples, data.view_dims, data.n_clusters) != (spec.n, dims, spec.n_clusters):
            raise DataValidationError(
                f"{path} imported as n={data.n_samples}, dims={data.view_dims}, "
                f"K={data.n_clusters}; expected n={spec.n}, dims={dims}, K={spec.n_clusters}"
            )
        card = data.card
        card.source = f"github.com/{spec.repo[0]} : {spec.repo_path} (commit {spec.repo[1][:10]}); {spec.url}"
        card.citation = spec.citation
        card.license = spec.license
        card.description = spec.description
        card.feature_extractors = {name: f"{kind} ({dim}-d)" for name, (dim, kind) in spec.views.items()}
        card.extra = {**card.extra, "raw_sha256": digest, **({"notes": spec.notes} if spec.notes else {})}
        if digest != spec.sha256:
            card.extra.update({VARIANT_KEY: digest, "pinned_sha256": spec.sha256})
            card.description += f" [VARIANT: sha256 {digest}, not the pinned {spec.sha256}]"
        return data


def _source(key: str) -> type[MatCollectionSource]:
    spec = SPECS[key]
    return type(
        f"Mat_{key}",
        (MatCollectionSource,),
        {
            "spec": spec,
            "description": f"{spec.description} [{spec.file}]",
            "n_clusters": spec.n_clusters,
            "pinned_sha256": spec.sha256,
            "__doc__": f"{spec.description} ({spec.file}; {spec.citation.split('.')[0]})",
        },
    )


Handwritten = _source("handwritten")
Cub10 = _source("cub10")
Wikipedia = _source("wikipedia")
MsrcV1 = _source("msrc_v1")
BbcSport = _source("bbcsport")
ThreeSources = _source("3sources")
Reuters1200 = _source("reuters1200")
Leaves100 = _source("100leaves")
Orl = _source("orl")
Bdgp = _source("bdgp")
Scene15 = _source("scene15")
MnistUsps = _source("mnist_usps")
Bdgp2v = _source("bdgp2v")
Synthetic3d = _source("synthetic3d")
