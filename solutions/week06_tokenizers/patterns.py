"""Split patterns and special tokens shared by every file of week 06 (given, nothing to write).

A byte-level BPE never merges across the pieces a regex pre-tokenizer cuts the text into, so
" the" and "the." stay separate words and merges cannot glue a word to the punctuation after it.
The patterns are the ones GPT-2 (Radford et al. 2019) and GPT-4 (tiktoken's cl100k_base) use;
`\\p{L}` (any letter) and `\\p{N}` (any number) need the third-party `regex` module, not `re`.
"""

# GPT-2: contractions, optional space + letters / numbers / other symbols, whitespace runs.
GPT2_SPLIT_PATTERN = (
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)

# GPT-4 (cl100k_base): case-insensitive contractions, numbers in groups of at most 3 digits,
# a leading non-letter glued to letters ("_case", "(foo"), newlines kept apart from spaces.
GPT4_SPLIT_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}"""
    r"""| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"""
)

# Special tokens get ids after the merges, in this order; they are never split or merged.
SPECIAL_TOKENS = ("<PAD>", "<UNK>", "<BOS>", "<EOS>", "<|endoftext|>")
