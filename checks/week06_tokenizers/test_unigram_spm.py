"""Checks for w06.unigram_spm: a sentencepiece Unigram model's pieces in your segmenter.

Oracle: sentencepiece itself. A model is trained here on the committed Shakespeare fixtures with
the settings the docstring names (identity normalization, byte fallback, ...); your normalize must
equal its normalizer, and normalize + unigram_segment over your load_spm_pieces must give exactly
sp.encode(text, out_type=str) on every held-out line, on the unicode fixture (many characters the
model never saw: byte fallback) and on hand-made models whose equal scores force ties.
sentencepiece's encoder is off-limits while your code runs. Needs the hf extra.
"""

import pytest

from checks.week06_tokenizers.oracles import held_out_lines, train_spm, training_lines
from roadmap.checking import forbid, learner_first
from roadmap.impl import load

mod = load("week06_tokenizers.unigram")

ENCODERS = (
    "sentencepiece.SentencePieceProcessor.encode",
    "sentencepiece.SentencePieceProcessor.Encode",
    "sentencepiece.SentencePieceProcessor.EncodeAsPieces",
    "sentencepiece.SentencePieceProcessor.encode_as_pieces",
)


def spm_model_from_pieces(pieces: dict[str, float]):
    """A sentencepiece processor whose Unigram model holds exactly `pieces` (hand-made scores),
    with byte fallback and the identity normalizer: the oracle for ties no training produces."""
    model_pb2 = pytest.importorskip(
        "sentencepiece.sentencepiece_model_pb2", reason='pip install -e ".[hf]" (needs protobuf)'
    )
    import sentencepiece

    proto = model_pb2.ModelProto()
    proto.trainer_spec.model_type = model_pb2.TrainerSpec.UNIGRAM
    proto.trainer_spec.byte_fallback = True
    proto.normalizer_spec.name = "identity"
    proto.normalizer_spec.add_dummy_prefix = True
    proto.normalizer_spec.remove_extra_whitespaces = True
    proto.normalizer_spec.escape_whitespaces = True
    kinds = model_pb2.ModelProto.SentencePiece
    meta = [("<unk>", kinds.UNKNOWN), ("<s>", kinds.CONTROL), ("</s>", kinds.CONTROL)]
    meta += [(f"<0x{b:02X}>", kinds.BYTE) for b in range(256)]
    for text, kind in meta:
        proto.pieces.add(piece=text, score=0.0, type=kind)
    for text, score in pieces.items():
        proto.pieces.add(piece=text, score=score, type=kinds.NORMAL)
    return sentencepiece.SentencePieceProcessor(model_proto=proto.SerializeToString())


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> str:
    """A 400-piece model (vocab_size 659) trained on training_lines(); the learner's code runs first."""
    learner_first(mod.normalize, "a b")
    pytest.importorskip("sentencepiece", reason='pip install -e ".[hf]"')
    return train_spm(training_lines(), 400, tmp_path_factory.mktemp("spm"))


def encode(text, pieces):
    with forbid(
        *ENCODERS,
        exercise="w06.unigram_spm",
        instead="normalize and your unigram_segment over the loaded pieces",
    ):
        return mod.spm_encode(text, pieces)


def test_normalize_known_answers():
    cases = [
        ("  Hello  world ", "▁Hello▁world"),
        ("a\tb", "▁a\tb"),
        ("", ""),
        ("   ", ""),
        ("x", "▁x"),
        ("a\u3000b", "▁a\u3000b"),
    ]
    for text, want in cases:
        got = mod.normalize(text)
        if got == want.removeprefix("▁") and want:
            cause = 'the dummy prefix: a "▁" goes before the first word too'
        elif "▁▁" in got:
            cause = "runs of spaces collapse to one"
        elif got.endswith("▁") or (not want and got):
            cause = "leading and trailing spaces are removed"
        elif " " in got or "▁" not in got and want:
            cause = 'every remaining space becomes "▁" (U+2581)'
        else:
            cause = 'only " " is a space: tabs and other characters stay as they are'
        assert got == want, (
            f"normalize({text!r}): expected {want!r}, got {got!r}; likely cause: {cause}"
        )


def test_normalize_equals_sentencepiece_normalizer(model_file, unicode_text):
    """sp.normalize(line) with the identity rule, on the held-out and the unicode lines."""
    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor(model_file=model_file)
    for line in held_out_lines()[:80] + unicode_text.splitlines() + ["  two  spaces  "]:
        got = mod.normalize(line)
        want = sp.normalize(line)
        assert got == want, (
            f"normalize({line!r}): sentencepiece gives {want!r}, you give {got!r}; likely cause: "
            'only " " is a space (runs collapse, ends stripped), each becomes "▁", and a "▁" goes '
            "in front"
        )


def test_loaded_pieces_are_the_lattice_pieces(model_file):
    """659 ids: <unk>, <s>, </s>, <0x00>..<0xFF>, then the 400 pieces the lattice uses."""
    pieces = mod.load_spm_pieces(model_file)
    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor(model_file=model_file)
    want = {sp.id_to_piece(i): sp.get_score(i) for i in range(259, sp.get_piece_size())}
    leaked = sorted(p for p in pieces if p in ("<unk>", "<s>", "</s>") or p.startswith("<0x"))
    assert not leaked, (
        f"load_spm_pieces: {leaked[:5]} are not lattice pieces; likely cause: the unknown, "
        "control and byte pieces must be left out (byte fallback is unigram_segment's own)"
    )
    missing = sorted(set(want) - set(pieces))
    assert not missing, f"load_spm_pieces: {len(missing)} pieces missing, e.g. {missing[:5]}"
    wrong = [p for p in want if abs(pieces[p] - want[p]) > 1e-6]
    assert not wrong, (
        f"load_spm_pieces: wrong scores for {wrong[:3]}: got {[pieces[p] for p in wrong[:3]]}, "
        f"expected {[want[p] for p in wrong[:3]]}; likely cause: the score of each piece is its "
        "log-probability as the model file stores it"
    )


def test_encode_equals_sentencepiece_on_held_out_lines(model_file, unicode_text):
    """Every held-out line, every unicode-fixture line (scripts and emoji the model never saw,
    tabs, CRLF), and a few made-up lines: exactly sp.encode(line, out_type=str)."""
    import sentencepiece

    pieces = mod.load_spm_pieces(model_file)
    lines = held_out_lines() + unicode_text.splitlines()
    lines += ["", "   ", "  spaced   out  ", "naïve café ☃", "x" * 40]
    got = [encode(line, pieces) for line in lines]
    sp = sentencepiece.SentencePieceProcessor(model_file=model_file)
    for line, mine in zip(lines, got):
        want = sp.encode(line, out_type=str)
        if mine == want:
            continue
        if any(p.startswith("<0x") for p in want) and not any(p.startswith("<0x") for p in mine):
            cause = "byte fallback: characters no piece covers are their UTF-8 bytes <0xNN>"
        elif "".join(mine) != "".join(want):
            cause = (
                'spm_encode must normalize the text first, exactly as normalize does (one "▁" '
                "per run of spaces, the dummy prefix, no spaces at the ends)"
            )
        else:
            cause = "the segmentation: highest total score, ties to the longest last piece"
        raise AssertionError(
            f"spm_encode({line!r}): sentencepiece gives {want}, you give {mine}; likely cause: "
            f"{cause}"
        )


@pytest.mark.parametrize(
    "pieces",
    [
        {"▁": -1.0, "a": -1.0, "b": -1.0, "c": -1.0, "ab": -2.0, "bc": -2.0},
        {"▁": -1.0, "a": -1.0, "▁a": -2.0, "b": -2.0, "▁ab": -3.0},
        {"▁": -2.0, "a": -1.0, "xa": -3.0, "ca": -1.0, "b": -0.5},
    ],
    ids=["three-way-tie", "prefix-ties", "uncovered-x"],
)
def test_encode_equals_sentencepiece_on_hand_made_models(pieces):
    """Integer scores make many paths tie; sentencepiece's choice is the docstring's rule."""
    pytest.importorskip("sentencepiece", reason='pip install -e ".[hf]"')
    texts = ["abc", "abcabc", "  ab  aab ", "ab ba", "xa xb cab", "é abc", "a\tb", ""]
    got = [encode(text, pieces) for text in texts]
    sp = spm_model_from_pieces(pieces)
    for text, mine in zip(texts, got):
        want = sp.encode(text, out_type=str)
        assert mine == want, (
            f"spm_encode({text!r}, {pieces}): sentencepiece gives {want}, you give {mine}; "
            "likely cause: the tie rule (the longest last piece wins) or byte fallback"
        )
