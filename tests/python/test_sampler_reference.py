"""Independent reference for zerotune's epoch permutation (batch_loader.hpp).

MT19937-64 written from Matsumoto and Nishimura's reference code (mt19937-64.c, 2004) and the
Fisher-Yates shuffle with rejection sampling that batch_loader.hpp documents. The expected
permutations below are also pinned in tests/data/batch_loader_test.cpp, so the C++ and this
independent implementation are held to the same numbers.
"""
import sys

MASK64 = (1 << 64) - 1


class MT19937_64:
    NN, MM = 312, 156
    MATRIX_A = 0xB5026F5AA96619E9
    UM, LM = 0xFFFFFFFF80000000, 0x7FFFFFFF

    def __init__(self, seed):
        self.mt = [0] * self.NN
        self.mt[0] = seed & MASK64
        for i in range(1, self.NN):
            prev = self.mt[i - 1]
            self.mt[i] = (6364136223846793005 * (prev ^ (prev >> 62)) + i) & MASK64
        self.mti = self.NN

    def __call__(self):
        if self.mti >= self.NN:
            mt = self.mt
            for i in range(self.NN):
                x = (mt[i] & self.UM) | (mt[(i + 1) % self.NN] & self.LM)
                xa = x >> 1
                if x & 1:
                    xa ^= self.MATRIX_A
                mt[i] = mt[(i + self.MM) % self.NN] ^ xa
            self.mti = 0
        x = self.mt[self.mti]
        self.mti += 1
        x ^= (x >> 29) & 0x5555555555555555
        x ^= (x << 17) & 0x71D67FFFEDA60000
        x ^= (x << 37) & 0xFFF7EEE000000000
        x ^= x >> 43
        return x & MASK64


def uniform_below(rng, bound):
    threshold = ((1 << 64) - bound) % bound
    while True:
        r = rng()
        if r >= threshold:
            return r % bound


def epoch_permutation(n, seed, epoch):
    rng = MT19937_64((seed + epoch) & MASK64)
    perm = list(range(n))
    for i in range(n - 1, 0, -1):
        j = uniform_below(rng, i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    return perm


EXPECTED = {
    # (n, seed, epoch): permutation
    (10, 1234, 0): [0, 3, 4, 7, 9, 8, 5, 6, 1, 2],
    (10, 1234, 1): [9, 8, 0, 4, 6, 5, 1, 2, 7, 3],
    (16, 0, 0): [7, 8, 9, 15, 10, 12, 1, 6, 0, 13, 11, 4, 5, 3, 2, 14],
    (7, 18446744073709551615, 1): [4, 0, 1, 2, 6, 5, 3],  # seed + epoch wraps to 0
}


def main():
    rng = MT19937_64(5489)
    for _ in range(9999):
        rng()
    # C++ [rand.predef]: the 10000th output of a default-constructed mt19937_64.
    assert rng() == 9981545732273789042, "MT19937-64 reference is wrong"
    if len(sys.argv) > 1 and sys.argv[1] == "--print":
        for key in EXPECTED:
            print(key, epoch_permutation(*key))
        return
    failures = 0
    for key, expected in EXPECTED.items():
        got = epoch_permutation(*key)
        if got != expected:
            print(f"FAIL {key}: {got} != {expected}")
            failures += 1
    assert epoch_permutation(7, 2**64 - 1, 1) == epoch_permutation(7, 0, 0)
    print("sampler reference: ok" if not failures else f"{failures} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
