"""A varied multilingual corpus for tokenizer parity tests, generated deterministically.

Documents mix prose in many scripts, real source code (Python's own standard library),
emoji with ZWJ sequences, skin tones and flags, whitespace runs of every kind, numbers,
special-token strings and random code points from every assigned category. Characters
whose Unicode category differs between Python's unicodedata and the newer Unicode of the
`regex` module (which Oniguruma and Rust's regex also follow) are left out: the tables
lockstep generates follow Python's version, so only version-independent text is compared.
"""

from __future__ import annotations

import functools
import random
import sysconfig
import unicodedata
from pathlib import Path

import regex

PROSE = [
    "The quick brown fox jumps over the lazy dog. It's 3:45 p.m., isn't it? We'll see; they'd've known!",
    "Привет, как дела? Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Ελληνικά: Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. Τι κάνεις;",
    "中文测试：我爱自然语言处理。今天天气很好，我们去公园散步吧！",
    "日本語のテキスト：いろはにほへと ちりぬるを。カタカナとひらがな、漢字。",
    "한국어 문장입니다. 다람쥐 헌 쳇바퀴에 타고파. 안녕하세요!",
    "العربية: نص حكيم له سر قاطع وذو شأن عظيم مكتوب على ثوب أخضر.",
    "עברית: דג סקרן שט בים מאוכזב ולפתע מצא חברה.",
    "हिन्दी: ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश करने वाले।",
    "বাংলা: আমি বাংলায় গান গাই। ঢাকা শহরের আকাশ।",
    "ภาษาไทย: เป็นมนุษย์สุดประเสริฐเลิศคุณค่า กว่าบรรดาฝูงสัตว์เดรัจฉาน",
    "Tiếng Việt: Tôi yêu tiếng nước tôi từ khi mới ra đời. Đường đi khó.",
    "Deutsch: Falsches Üben von Xylophonmusik quält jeden größeren Zwerg. Straße, Maß.",
    "Français : Voix ambiguë d'un cœur qui, au zéphyr, préfère les jattes de kiwis. L'été.",
    "Español: El pingüino Wenceslao hizo kilómetros bajo exhaustiva lluvia y frío. ¿Qué? ¡Sí!",
    "Polski: Pchnąć w tę łódź jeża lub ośm skrzyń fig. Zażółć gęślą jaźń.",
    "Türkçe: Pijamalı hasta yağız şoföre çabucak güvendi. İstanbul, ılık.",
    "ქართული: ოთხი ბაბუაწვერა. Հայերեն: Բարեւ ձեզ։ አማርኛ: ሰላም ለዓለም።",
    "தமிழ்: யாமறிந்த மொழிகளிலே தமிழ்மொழி போல் இனிதாவது எங்கும் காணோம்.",
    "Ελληνικά με τόνους: ΐ ΰ ά έ ή ί ό ύ ώ. Combining: e\u0301 a\u0308 n\u0303 o\u0302\u0323.",
    "Mixed: naïve café résumé coöperate façade jalapeño Ångström ﬁ ﬂ ǅ ǈ ǋ Ⅷ ½ ² ³.",
    "Contractions: I'm, you're, he's, we've, they'll, she'd, it'S, YOU'RE, WE'VE, 'ſ 'K 'ĸ.",
]

SPECIAL_STRINGS = [
    "<|endoftext|>", "<s>", "</s>", "<unk>", "<pad>", "[CLS]", "[SEP]", "[MASK]", "[UNK]",
    "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>",
    "<|start_header_id|>", "<|end_header_id|>", "<|user|>", "<|assistant|>", "<|end|>",
    "<mask>", "<|fim_prefix|>", "<bos>", "<eos>", "<start_of_turn>", "[INST]", "[/INST]",
]

EMOJI = [
    "👍", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷", "🇯🇵", "❤️", "☺️", "🧑🏿‍🚀", "🤷‍♀️",
    "😀", "🎉", "🔥", "🦀", "🐍", "✔️", "©️", "1️⃣", "🫠", "👁️‍🗨️",
]

WHITESPACE = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\r", " \n ", "\u00a0", "\u3000",
              "\u2028", "\u2009", "\u200b", "\u00a0\u00a0", " \t \n", "\n\n\n\n", "        "]


@functools.lru_cache(maxsize=1)
def stable_codepoints() -> tuple[str, ...]:
    """Assigned, non-surrogate code points whose category the regex module agrees with."""
    checks = {
        "L": regex.compile(r"\p{L}"), "N": regex.compile(r"\p{N}"), "P": regex.compile(r"\p{P}"),
        "S": regex.compile(r"\p{S}"), "M": regex.compile(r"\p{M}"), "Z": regex.compile(r"\p{Z}"),
        "C": regex.compile(r"\p{C}"),
    }
    lu, ll = regex.compile(r"\p{Lu}"), regex.compile(r"\p{Ll}")
    out = []
    for cp in range(0x20, 0x30000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if cat in ("Cn", "Cs", "Co"):
            continue
        if not checks[cat[0]].match(ch):
            continue
        if (cat == "Lu") != bool(lu.match(ch)) or (cat == "Ll") != bool(ll.match(ch)):
            continue
        out.append(ch)
    return tuple(out)


@functools.lru_cache(maxsize=1)
def source_files() -> tuple[str, ...]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    names = ["json/decoder.py", "textwrap.py", "difflib.py", "heapq.py", "string.py", "csv.py",
             "argparse.py", "dataclasses.py", "fractions.py", "statistics.py"]
    texts = []
    for name in names:
        path = stdlib / name
        if path.exists():
            texts.append(path.read_text(encoding="utf-8"))
    return tuple(texts)


def _number(rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return str(rng.randrange(10 ** rng.randrange(1, 20)))
    if kind == 1:
        return f"{rng.uniform(-1e6, 1e6):.{rng.randrange(0, 8)}f}"
    if kind == 2:
        return "".join(chr(0x660 + rng.randrange(10)) for _ in range(rng.randrange(1, 8)))  # Arabic-Indic
    if kind == 3:
        return "".join(chr(0xFF10 + rng.randrange(10)) for _ in range(rng.randrange(1, 6)))  # fullwidth
    if kind == 4:
        return f"{rng.randrange(1, 32)}/{rng.randrange(1, 13)}/{rng.randrange(1900, 2100)}"
    return f"{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"


def _document(rng: random.Random) -> str:
    parts: list[str] = []
    target = rng.choice([40, 200, 800, 2500])
    size = 0
    cps = stable_codepoints()
    sources = source_files()
    while size < target:
        kind = rng.randrange(10)
        if kind <= 2:
            piece = rng.choice(PROSE)
            if rng.random() < 0.3:
                words = piece.split(" ")
                rng.shuffle(words)
                piece = " ".join(words)
        elif kind == 3 and sources:
            src = rng.choice(sources)
            start = rng.randrange(max(1, len(src) - 600))
            piece = src[start:start + rng.randrange(50, 600)]
        elif kind == 4:
            piece = "".join(rng.choice(EMOJI) for _ in range(rng.randrange(1, 5)))
        elif kind == 5:
            piece = rng.choice(WHITESPACE) * rng.randrange(1, 4)
        elif kind == 6:
            piece = _number(rng)
        elif kind == 7:
            piece = rng.choice(SPECIAL_STRINGS)
        elif kind == 8:
            piece = "".join(rng.choice(cps) for _ in range(rng.randrange(1, 12)))
        else:
            piece = rng.choice(["'s", "'S", "'ll", "'LL", "'ve", "'re", "'d", "'m", "'t", "'ſ", "'K",
                                "...", "!!!", "?!", "—", "–", "«»", "„“", "()", "[]", "{}", "<>",
                                "http://example.com/a?b=c&d=e", "user@example.org", "C:\\path\\to",
                                "a_b_c", "camelCaseWord", "UPPERCASE", "x²+y²=z²", "$100", "50%"])
        sep = rng.choice(["", " ", " ", " ", "\n", "  ", "\t"])
        parts.append(piece + sep)
        size += len(piece) + len(sep)
    return "".join(parts)


@functools.lru_cache(maxsize=4)
def corpus(total_bytes: int = 5_000_000, seed: int = 1234) -> tuple[str, ...]:
    """Documents whose UTF-8 size adds up to at least `total_bytes`."""
    rng = random.Random(seed)
    docs: list[str] = []
    size = 0
    while size < total_bytes:
        doc = _document(rng)
        docs.append(doc)
        size += len(doc.encode("utf-8"))
    return tuple(docs)
