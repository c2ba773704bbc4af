"""Concrete sizes that fit every layer: one function for verify and for the formula checker.

A CNN with a symbolic image side ``h`` (conv 3×3, then 2×2 pooling) is correct for the
sides where every conv and pool divides exactly; a numeric check at h = 3 would slide a
2×2 window over a 1×1 map. ``fitting_sizes`` keeps the sizes it is given where they fit and
moves the free geometric ones (image sides, symbolic kernels) to the nearest values that
fit, judged by the spec's own size arithmetic (``Network.image_shapes``).
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping

from derive.spec import Conv2d, Network, SpecError

#: Largest value tried for a free image side or kernel (fewer candidates with more symbols).
SEARCH_LIMIT = {1: 128, 2: 48}
SEARCH_LIMIT_MANY = 12


def geometry_names(network: Network) -> list[str]:
    """The symbolic sizes that decide whether conv and pool layers fit (sides, kernels)."""
    names: list[str] = []
    if isinstance(network.input_width, tuple):
        names += [v for v in network.input_width[1:] if isinstance(v, str)]
    for layer in network.layers:
        if isinstance(layer, Conv2d) and isinstance(layer.kernel, str):
            names.append(layer.kernel)
    return list(dict.fromkeys(names))


def _fits(network: Network, sizes: Mapping[str, int]) -> bool:
    try:
        network.concrete(sizes).image_shapes  # noqa: B018 - computing it checks every layer
    except SpecError:
        return False
    return True


def fitting_sizes(
    network: Network, proposal: Mapping[str, int], fixed: Collection[str] = ()
) -> dict[str, int]:
    """``proposal`` with its free image sides and kernels moved so that every layer fits.

    Sizes named in ``fixed`` (the user's) are kept. Among the values that fit, the one
    nearest the proposal is taken, preferring values no other size uses (the checker
    wants distinct sizes). Raises ``SpecError`` when nothing fits.
    """
    sizes = {k: int(v) for k, v in proposal.items()}
    if not network.is_conv or _fits(network, sizes):
        return sizes
    free = [n for n in geometry_names(network) if n not in fixed]
    if not free:
        given = ", ".join(f"{k}={v}" for k, v in sizes.items() if k in fixed)
        raise SpecError(f"the sizes {given} do not fit every layer of {network.name!r}")
    limit = SEARCH_LIMIT.get(len(free), SEARCH_LIMIT_MANY)
    taken = {v for k, v in sizes.items() if k not in free}
    start = [sizes.get(n, 2) for n in free]

    def cost(values: tuple[int, ...]) -> tuple[int, int]:
        return sum(abs(v - s) for v, s in zip(values, start)), sum(v in taken for v in values)

    for values in sorted(itertools.product(range(1, limit + 1), repeat=len(free)), key=cost):
        trial = {**sizes, **dict(zip(free, values))}
        if _fits(network, trial):
            return trial
    raise SpecError(
        f"no {', '.join(free)} up to {limit} makes every conv and pooling layer of "
        f"{network.name!r} fit; give concrete sizes"
    )
