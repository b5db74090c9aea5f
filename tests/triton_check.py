"""The Triton kernel against the CPU engine, in its own process: Triton reads TRITON_INTERPRET when it is imported,
so ``tests/test_engine.py`` runs this module with it set where no GPU is. Prints one "ok" per case; fails otherwise."""

import torch

from lib.core import engine
from tests.test_engine import NETS, _u8, assert_same_8bit


def main() -> None:
    from lib.core.engine.cuda import TritonKernel

    device = "cuda" if torch.cuda.is_available() else "cpu"
    for name in ("clamped", "banded crop", "banded 3 -> 3", "table + clamp", "curve + turn"):  # each tap in Python
        net = NETS[name]()
        plan = engine.plan_of(net)
        kernel, cpu = TritonKernel(plan.to(device)), engine.backend_for(net)
        x8 = _u8(3, plan.in_shape)
        for x in (x8, x8.float() / 255):
            expected = cpu(x)
            for out_dtype in (torch.float32, torch.uint8):
                got = kernel(x.to(device), out_dtype).cpu()
                if out_dtype == torch.uint8:
                    assert_same_8bit(got, expected)
                else:
                    torch.testing.assert_close(got, expected, rtol=1e-5, atol=2e-6)
            print(name, x.dtype, "ok")


if __name__ == "__main__":
    main()
