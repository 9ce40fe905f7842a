"""``gancourse download wikiart``: real WikiArt paintings from the Hugging Face dataset ``huggan/wikiart``.

The dataset (81,444 paintings, 72 parquet shards of about 520 MB, columns ``image``, ``artist``,
``genre``, ``style`` with integer class labels) needs no login. Each shard is a single row group with
every style mixed in, so no footer statistic can rule a shard out: reading footers would only cost
requests (72 per run, against the Hub's per-IP rate limit). What happens instead:

1. the file list, with each shard's size and LFS SHA-256, comes from the Hub's tree API (one request);
2. the class names of the integer labels come from the repository's ``dataset_infos.json`` (one small
   request; else one footer read with an explicit range, answered ``206``; else the copy below), and
   each downloaded shard's own parquet metadata, when it has them, is what its rows are read with;
3. shards are downloaded in a fixed order (their names), one at a time (resumable, checked against
   their SHA-256), until ``count`` paintings are there; each is read a few rows at a time and every
   matching painting is written as ``<root>/wikiart/<style>/<artist>_huggan-wikiart-<shard>-<row>.jpg``
   (the ArtGAN layout the loader reads; the dataset has no titles, so the row stands in for one);
4. the shard is deleted once read (``keep_shards=True`` keeps it in ``<root>/wikiart/.download/``).

Running it again continues: paintings already there are counted and kept (enough of them: no request
at all), a shard that was fully read for this selection is not fetched again (``.download/state.json``),
a shard cut off halfway resumes. A shard it stopped in the middle of is fetched again if a later run asks
for more (``keep_shards=True`` keeps it instead).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import unicodedata
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..errors import UserError
from ..files import write_bytes_atomic, write_text_atomic
from . import huggingface as hf
from .download import DownloadError, fetch_large, offline

REPO = "huggan/wikiart"
SHARD = re.compile(r"data/train-(\d+)-of-(\d+)\.parquet$")
DEFAULT_COUNT = 400  # what notebook 02's quick profile trains on (the size of the course's shared subset)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}

# Class names of the dataset's integer labels, in label order, as its ``datasets`` features declare them
# (the ClassLabel ``names`` in the repository's dataset_infos.json, also stored in every shard's parquet
# metadata under "huggingface"; both are read first when present, this copy is the fallback). The odd
# "joaquã\xadn-sorolla" is how the dataset spells Joaquín Sorolla; files get the repaired prefix "joaquin-sorolla".
STYLES = (
    "Abstract_Expressionism", "Action_painting", "Analytical_Cubism", "Art_Nouveau", "Baroque",
    "Color_Field_Painting", "Contemporary_Realism", "Cubism", "Early_Renaissance", "Expressionism",
    "Fauvism", "High_Renaissance", "Impressionism", "Mannerism_Late_Renaissance", "Minimalism",
    "Naive_Art_Primitivism", "New_Realism", "Northern_Renaissance", "Pointillism", "Pop_Art",
    "Post_Impressionism", "Realism", "Rococo", "Romanticism", "Symbolism", "Synthetic_Cubism", "Ukiyo_e",
)
GENRES = (
    "abstract_painting", "cityscape", "genre_painting", "illustration", "landscape", "nude_painting",
    "portrait", "religious_painting", "sketch_and_study", "still_life", "Unknown Genre",
)
ARTISTS = (
    "Unknown Artist", "boris-kustodiev", "camille-pissarro", "childe-hassam", "claude-monet", "edgar-degas",
    "eugene-boudin", "gustave-dore", "ilya-repin", "ivan-aivazovsky", "ivan-shishkin", "john-singer-sargent",
    "marc-chagall", "martiros-saryan", "nicholas-roerich", "pablo-picasso", "paul-cezanne",
    "pierre-auguste-renoir", "pyotr-konchalovsky", "raphael-kirchner", "rembrandt", "salvador-dali",
    "vincent-van-gogh", "hieronymus-bosch", "leonardo-da-vinci", "albrecht-durer", "edouard-cortes",
    "sam-francis", "juan-gris", "lucas-cranach-the-elder", "paul-gauguin", "konstantin-makovsky",
    "egon-schiele", "thomas-eakins", "gustave-moreau", "francisco-goya", "edvard-munch", "henri-matisse",
    "fra-angelico", "maxime-maufra", "jan-matejko", "mstislav-dobuzhinsky", "alfred-sisley", "mary-cassatt",
    "gustave-loiseau", "fernando-botero", "zinaida-serebriakova", "georges-seurat", "isaac-levitan",
    "joaquã\xadn-sorolla", "jacek-malczewski", "berthe-morisot", "andy-warhol", "arkhip-kuindzhi",
    "niko-pirosmani", "james-tissot", "vasily-polenov", "valentin-serov", "pietro-perugino", "pierre-bonnard",
    "ferdinand-hodler", "bartolome-esteban-murillo", "giovanni-boldini", "henri-martin", "gustav-klimt",
    "vasily-perov", "odilon-redon", "tintoretto", "gene-davis", "raphael", "john-henry-twachtman",
    "henri-de-toulouse-lautrec", "antoine-blanchard", "david-burliuk", "camille-corot", "konstantin-korovin",
    "ivan-bilibin", "titian", "maurice-prendergast", "edouard-manet", "peter-paul-rubens", "aubrey-beardsley",
    "paolo-veronese", "joshua-reynolds", "kuzma-petrov-vodkin", "gustave-caillebotte", "lucian-freud",
    "michelangelo", "dante-gabriel-rossetti", "felix-vallotton", "nikolay-bogdanov-belsky", "georges-braque",
    "vasily-surikov", "fernand-leger", "konstantin-somov", "katsushika-hokusai", "sir-lawrence-alma-tadema",
    "vasily-vereshchagin", "ernst-ludwig-kirchner", "mikhail-vrubel", "orest-kiprensky",
    "william-merritt-chase", "aleksey-savrasov", "hans-memling", "amedeo-modigliani", "ivan-kramskoy",
    "utagawa-kuniyoshi", "gustave-courbet", "william-turner", "theo-van-rysselberghe", "joseph-wright",
    "edward-burne-jones", "koloman-moser", "viktor-vasnetsov", "anthony-van-dyck", "raoul-dufy", "frans-hals",
    "hans-holbein-the-younger", "ilya-mashkov", "henri-fantin-latour", "m.c.-escher", "el-greco",
    "mikalojus-ciurlionis", "james-mcneill-whistler", "karl-bryullov", "jacob-jordaens",
    "thomas-gainsborough", "eugene-delacroix", "canaletto",
)
STYLE_ALIASES = {"Art_Nouveau_Modern": "Art_Nouveau"}  # ArtGAN's folder name for the same style
NAME_FIXES = {"joaquã\xadn-sorolla": "joaquin-sorolla"}


def file_prefix(artist: str) -> str:
    """The artist as a file-name prefix: lower case, ASCII, no spaces or underscores ("unknown-artist")."""
    name = NAME_FIXES.get(artist, artist)
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[\s_/\\]+", "-", name.strip().lower())


def artist_list(option: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """The ``artist`` option as a list: "a,b", ["a", "b"] or nothing (every artist)."""
    if option is None or option == "" or option == []:
        return []
    names = option.split(",") if isinstance(option, str) else list(option)
    return [n.strip() for n in names if n.strip()]


def _check_names(style: str, artists: list[str], styles: list[str], known_artists: list[str]) -> None:
    """A style or artist not among the dataset's: one clear error, before anything is downloaded."""
    _index(style, styles, "style")
    for a in artists:
        _index(a, known_artists, "artist")


def _checked_shards() -> list[hf.RemoteFile]:
    """The dataset's parquet shards, each with the SHA-256 the Hub publishes for it."""
    shards = [f for f in hf.list_files(REPO, "data") if SHARD.search(f.path)]
    if not shards:
        raise DownloadError(f"{hf.endpoint()}: {REPO} lists no parquet shards under data/")
    missing = next((s for s in shards if s.sha256 is None), None)
    if missing is not None:
        raise DownloadError(f"{missing.url}: the Hub publishes no SHA-256 for it, so it cannot be checked")
    return shards


def _index(wanted: str, names: list[str], what: str) -> int:
    for i, name in enumerate(names):
        if wanted in (name, file_prefix(name)):
            return i
    import difflib

    close = difflib.get_close_matches(wanted, [file_prefix(n) if what == "artist" else n for n in names], n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    listing = ", ".join(file_prefix(n) if what == "artist" else n for n in names)
    raise UserError(f"huggan/wikiart has no {what} {wanted!r}{hint}; its {what}s: {listing}")


def existing_paintings(folder: Path, artists: list[str]) -> int:
    """Paintings already in ``folder`` by one of ``artists`` (all when empty)."""
    if not folder.is_dir():
        return 0
    return sum(1 for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
               and p.suffix.lower() in IMAGE_SUFFIXES and (not artists or p.name.split("_", 1)[0] in artists))


class _State:
    """Which shards were read to the end for which selection (``<root>/wikiart/.download/state.json``)."""

    def __init__(self, path: Path):
        self.path = path
        self.done: dict[str, list[str]] = json.loads(path.read_text()) if path.is_file() else {}

    def covers(self, shard: str, key: str, style_key: str) -> bool:
        return bool({key, style_key} & set(self.done.get(shard, [])))

    def mark(self, shard: str, key: str) -> None:
        self.done.setdefault(shard, []).append(key)
        write_text_atomic(self.path, json.dumps(self.done, indent=1, sort_keys=True))


def _write_painting(data: bytes, dest: Path) -> None:
    """Write a JPEG atomically; images stored in another format are re-encoded (quality 95)."""
    if not data.startswith(b"\xff\xd8"):
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            out = io.BytesIO()
            image.convert("RGB").save(out, format="JPEG", quality=95)
            data = out.getvalue()
    write_bytes_atomic(dest, data)


def _shard_names(shard: Path, names: dict[str, list[str]]) -> dict[str, list[str]]:
    """The class names a downloaded shard's own parquet metadata declares (they win), else ``names``."""
    import pyarrow.parquet as pq

    metadata = pq.ParquetFile(shard).metadata
    return {column: hf.class_names(metadata, column) or known for column, known in names.items()}


def _extract(shard: Path, shard_no: int, style: str, artists: list[str], names: dict[str, list[str]],
             folder: Path, limit: int, bar) -> tuple[int, bool]:
    """Write the shard's matching paintings into ``folder``: (new files, whether the shard was read to the end)."""
    names = _shard_names(shard, names)
    style_no = _index(style, names["style"], "style")
    artist_nos = {_index(a, names["artist"], "artist") for a in artists}

    def select(labels: dict[str, np.ndarray]) -> np.ndarray:
        mask = labels["style"] == style_no
        return mask & np.isin(labels["artist"], list(artist_nos)) if artist_nos else mask

    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for row, labels, images in hf.matching_rows(shard, ["style", "artist"], ["image"], select):
        name = f"{file_prefix(_artist_name(names['artist'], labels['artist'], shard, row))}" \
               f"_huggan-wikiart-{shard_no:05d}-{row:05d}.jpg"
        dest = folder / name
        if dest.exists():
            continue
        if limit and written >= limit:
            return written, False
        _write_painting(hf.image_bytes(images["image"]), dest)
        written += 1
        bar.update(1)
    return written, True


def _artist_name(names: list[str], label: object, shard: Path, row: int) -> str:
    """The artist of a row; a label outside the names (-1, Hugging Face's "no label", would silently name the
    last artist with Python's negative indexing) is one clear error instead of a painting filed wrongly."""
    index = int(label)
    if not 0 <= index < len(names):
        raise DownloadError(f"{shard.name}, row {row}: artist label {index} is outside the {len(names)} artists "
                            "the dataset names, so the painting cannot be filed under its artist; the shard does "
                            "not match its metadata (a changed or damaged dataset). The paintings written so far "
                            f"are kept; delete {shard} and download again, or choose artists with --data-option "
                            "artist=...")
    return names[index]


def download_wikiart(root: Path | str, style: str = "Impressionism", artist: str | list[str] | None = None,
                     count: int | str = DEFAULT_COUNT, keep_shards: bool | str = False, size: int | None = None,
                     progress: bool = True) -> Path:
    """Make ``<root>/wikiart/<style>/`` hold at least ``count`` paintings (0: every painting of the selection).

    ``artist``: one file-name prefix or a list ("claude-monet,alfred-sisley"); ``size`` is accepted and
    ignored (paintings are stored at their original size and resized when loaded).
    """
    root, count = Path(root), int(count)
    keep = str(keep_shards).lower() in {"1", "true", "yes"}
    if count < 0:
        raise UserError(f"count must be >= 0 (0: every painting of the selection), got {count}")
    hf_style = STYLE_ALIASES.get(style, style)
    wanted = [file_prefix(a) for a in artist_list(artist)]
    folder = root / "wikiart" / style
    have = existing_paintings(folder, wanted)
    if count and have >= count:
        return folder  # enough already: no network at all
    if offline():
        raise DownloadError("not downloading wikiart because GANCOURSE_OFFLINE is set")
    _check_names(hf_style, wanted, list(STYLES), list(ARTISTS))  # a typo fails before any download

    work = root / "wikiart" / ".download"
    made = [p for p in (root / "wikiart", work, folder) if not p.exists()]
    try:
        shards = _checked_shards()
        names = _class_names(shards)
        _check_names(hf_style, wanted, names["style"], names["artist"])
        key = f"{style}|{','.join(sorted(wanted)) or '*'}"
        state = _State(work / "state.json")
        with tqdm(total=count or None, initial=have, unit="painting", desc=f"wikiart/{style} paintings",
                  disable=not progress) as found:
            for remote in sorted(shards, key=lambda f: f.path):  # a fixed order: no shard can be ruled out
                if count and have >= count:
                    break
                if state.covers(remote.name, key, f"{style}|*"):
                    continue
                shard = work / remote.name
                if not shard.is_file():
                    fetch_large(remote.url, shard, sha256=remote.sha256, size=remote.size, progress=progress,
                                desc=f"{remote.name} ({have}/{count or '?'} paintings)")
                shard_no = int(SHARD.search(remote.path).group(1))
                written, whole = _extract(shard, shard_no, hf_style, wanted, names, folder,
                                          count - have if count else 0, found)
                have += written
                if whole:
                    state.mark(remote.name, key)
                if not keep:
                    shard.unlink()
    finally:
        for path in reversed(made):  # leave no empty folder that looks like a dataset
            with contextlib.suppress(OSError):
                path.rmdir()
    if have == 0:
        raise DownloadError(f"{REPO} has no painting of style {style!r}"
                            + (f" by {', '.join(wanted)}" if wanted else ""))
    return folder


def _class_names(shards: list[hf.RemoteFile]) -> dict[str, list[str]]:
    """The dataset's own class names for ``style`` and ``artist`` (see the module docstring), read once."""
    names = {"style": list(STYLES), "artist": list(ARTISTS)}
    features = hf.dataset_features(REPO)
    found = {column: hf.feature_names(features, column) for column in names}
    if not all(found.values()):
        metadata = hf.parquet_footer(shards[0])  # None when the server ignores the range: not read then
        if metadata is not None:
            found = {column: found[column] or hf.class_names(metadata, column) for column in names}
    return {column: found[column] or known for column, known in names.items()}
