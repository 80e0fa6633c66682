"""Multiple-choice scoring by log-likelihood, the lm-evaluation-harness way.

Each question becomes one request per choice: (context, continuation) = (prompt, " " + choice).
The model scores the continuation's tokens given the context; the prediction is the choice with
the highest log-likelihood (acc), or the highest log-likelihood per character of the choice
(acc_norm), which removes the bias towards short answers. Reference: lm-evaluation-harness
(`lm_eval/api/task.py`, `models/huggingface.py`), Gao et al. 2021.
Check: `python tracker.py check w17.multiple_choice`
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F

LogitsFn = Callable[[torch.Tensor], torch.Tensor]  # (B, T) int64 -> (B, T, V) logits


def encode_pair(
    encode: Callable[[str], list[int]], context: str, continuation: str
) -> tuple[list[int], list[int]]:
    """Token ids of (context, continuation) as lm-eval's causal models split them.

    Trailing whitespace of the context moves to the front of the continuation; then the whole
    string context + continuation is encoded once, and the continuation's ids are what follows
    the ids of the context encoded alone: cont = encode(context + continuation)[len(encode(context)):].
    So a word that straddles the boundary is tokenized as it is in running text.

    Returns:
        (encode(context), cont), both after the whitespace move. The context's ids are those of
        the context encoded alone, not the first ids of the joint encoding: with a tokenizer that
        merges across the boundary (context "xa", continuation "b", "ab" one token) they differ,
        and cont may even be empty.

    Example: ("Answer: ", "yes") is encoded as ("Answer:", " yes").
    """
    # subtle: " yes" is usually one token, while "Answer: " + "yes" would end with a bare space
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = encode(context + continuation)
    ctx = encode(context)
    return ctx, whole[len(ctx) :]


def loglikelihoods(
    logits_fn: LogitsFn,
    requests: list[tuple[list[int], list[int]]],
    batch_size: int = 8,
    pad_id: int = 0,
) -> list[float]:
    """log p(continuation | context) for each (context ids, continuation ids) request.

    The model input of a request is (context + continuation)[:-1]; the continuation's k tokens are
    predicted by the last k positions of that input, and only they are summed (the context's own
    tokens are not scored). Requests are run batch_size at a time, right-padded with pad_id to the
    longest input of the batch; padding comes after the real tokens, so under a causal model it
    changes nothing and the results equal one-by-one scoring. Contexts are non-empty and every
    input fits the model (len(context) + len(continuation) - 1 <= block size).

    Returns:
        One float per request, in the order of `requests`.

    Example: requests ([5, 6], [7]), ([5], [8, 9]) in one batch: inputs [5, 6] and [5, 8],
    result [log p(7 | 5 6), log p(8 | 5) + log p(9 | 5 8)]. With 5 requests whose inputs have
    3, 7, 2, 4 and 5 tokens and batch_size 2, logits_fn gets (2, 7), (2, 4) and (1, 5) batches.
    """
    out = []
    for start in range(0, len(requests), batch_size):
        chunk = requests[start : start + batch_size]
        inputs = [(ctx + cont)[:-1] for ctx, cont in chunk]
        T = max(len(x) for x in inputs)
        batch = torch.full((len(chunk), T), pad_id, dtype=torch.long)
        for row, x in enumerate(inputs):
            batch[row, : len(x)] = torch.tensor(x, dtype=torch.long)
        with torch.no_grad():
            logp = F.log_softmax(logits_fn(batch).float(), dim=-1)  # (B, T, V)
        for row, (ctx, cont) in enumerate(chunk):
            n = len(ctx) + len(cont) - 1  # real length of this row's input
            k = len(cont)
            picked = logp[row, n - k : n].gather(-1, torch.tensor(cont)[:, None])
            out.append(picked.sum().item())
    return out


def mc_metrics(lls: list[float], choices: list[str], gold: int) -> dict[str, float]:
    """acc and acc_norm of one question from its choices' log-likelihoods.

    acc = 1.0 if argmax(lls) == gold else 0.0; acc_norm uses lls[i] / len(choices[i]), the length
    in characters of the choice string as given (without the " " delimiter), as lm-eval does. Ties
    go to the first maximum (numpy's argmax).

    Returns:
        {"acc": 1.0 or 0.0, "acc_norm": 1.0 or 0.0}, exactly these two keys.

    Example: lls [-4.0, -6.0], choices ["ab", "abcdef"], gold 1: acc 0.0 (-4 > -6); acc_norm 1.0
    (-4 / 2 = -2.0 < -6 / 6 = -1.0).
    """
    # per-character log-likelihood: a long correct answer is not punished for its length
    best = max(range(len(lls)), key=lambda i: (lls[i], -i))
    best_norm = max(range(len(lls)), key=lambda i: (lls[i] / len(choices[i]), -i))
    return {"acc": float(best == gold), "acc_norm": float(best_norm == gold)}
