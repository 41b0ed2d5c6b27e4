// The libsodium wrappers (PROTOCOL.md §11): seal/open, XChaCha, agreement, derivation, and the
// replay window.
#include <catch2/catch.hpp>

#include <string_view>
#include <vector>

#include "crypto.hpp"

using namespace netcore;
using namespace netcore::crypto;

namespace {

using Bytes = std::vector<std::uint8_t>;

SymmetricKey key_of(std::uint8_t first) {
    SymmetricKey k{};
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(first + 3 * i);
    return k;
}

const Bytes kAd = {'h', 'e', 'a', 'd'};
const Bytes kPlain = {'h', 'e', 'l', 'l', 'o', ' ', 'p', 'e', 'e', 'r'};
const XNonce kXNonce = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,
                        13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};

Bytes sealed(const SymmetricKey& key, std::uint32_t prefix, std::uint64_t counter) {
    Bytes box(kPlain.size() + kTagSize);
    REQUIRE(seal(key, prefix, counter, kAd, kPlain, box) == box.size());
    return box;
}

// Opens into a fresh buffer; true when it opened to kPlain.
bool opens(const SymmetricKey& key, std::uint32_t prefix, std::uint64_t counter, const Bytes& ad,
           const Bytes& box) {
    Bytes out(box.size());
    const auto n = open(key, prefix, counter, ad, box, out);
    if (n < 0) return false;
    out.resize(static_cast<std::size_t>(n));
    return out == kPlain;
}

}  // namespace

TEST_CASE("a sealed box opens with the same key, prefix, counter and ad", "[crypto]") {
    REQUIRE(init());
    const auto key = key_of(1);
    const auto box = sealed(key, kFromServer, 7);
    CHECK(box.size() == kPlain.size() + kTagSize);
    CHECK(opens(key, kFromServer, 7, kAd, box));
    // The ciphertext is not the plaintext.
    CHECK_FALSE(std::equal(kPlain.begin(), kPlain.end(), box.begin()));
}

TEST_CASE("a box does not open after any change to it, its ad, key, prefix or counter",
          "[crypto]") {
    const auto key = key_of(1);
    const auto box = sealed(key, 0, 7);
    for (std::size_t i = 0; i < box.size() * 8; ++i) {
        auto damaged = box;
        damaged[i / 8] ^= static_cast<std::uint8_t>(1u << (i % 8));
        INFO("bit " << i);
        CHECK_FALSE(opens(key, 0, 7, kAd, damaged));
    }
    for (std::size_t i = 0; i < kAd.size() * 8; ++i) {
        auto ad = kAd;
        ad[i / 8] ^= static_cast<std::uint8_t>(1u << (i % 8));
        CHECK_FALSE(opens(key, 0, 7, ad, box));
    }
    CHECK_FALSE(opens(key, 0, 7, {}, box));
    CHECK_FALSE(opens(key, 0, 8, kAd, box));
    CHECK_FALSE(opens(key, 0, 7ull | (1ull << 63), kAd, box));
    CHECK_FALSE(opens(key, 1, 7, kAd, box));  // the other direction of the same key
    CHECK_FALSE(opens(key_of(2), 0, 7, kAd, box));
    // Cut short: less than the tag, or a byte missing.
    CHECK_FALSE(opens(key, 0, 7, kAd, Bytes(box.begin(), box.begin() + kTagSize - 1)));
    CHECK_FALSE(opens(key, 0, 7, kAd, Bytes(box.begin(), box.end() - 1)));
}

TEST_CASE("seal and open work in place, and refuse a buffer that is too small", "[crypto]") {
    const auto key = key_of(9);
    Bytes buf(kPlain.size() + kTagSize);
    std::copy(kPlain.begin(), kPlain.end(), buf.begin());
    REQUIRE(seal(key, 0, 1, kAd, std::span(buf.data(), kPlain.size()), buf) == buf.size());
    CHECK(buf == sealed(key, 0, 1));  // the same box as sealed elsewhere
    const auto n = open(key, 0, 1, kAd, buf, buf);
    REQUIRE(n == static_cast<std::ptrdiff_t>(kPlain.size()));
    CHECK(Bytes(buf.begin(), buf.begin() + n) == kPlain);

    Bytes small(kPlain.size() + kTagSize - 1);
    CHECK(seal(key, 0, 1, kAd, kPlain, small) == 0);
    const auto box = sealed(key, 0, 1);
    Bytes out(kPlain.size() - 1);
    CHECK(open(key, 0, 1, kAd, box, out) == -1);
    // An empty plaintext seals to a bare tag, which opens to nothing.
    Bytes tag(kTagSize);
    REQUIRE(seal(key, 0, 2, kAd, {}, tag) == kTagSize);
    CHECK(open(key, 0, 2, kAd, tag, out) == 0);
}

TEST_CASE("XChaCha boxes open with their nonce only, in place too", "[crypto]") {
    const auto key = key_of(3);
    Bytes box(kPlain.size() + kTagSize);
    REQUIRE(seal_x(key, kXNonce, kAd, kPlain, box) == box.size());
    Bytes out(box.size());
    const auto n = open_x(key, kXNonce, kAd, box, out);
    REQUIRE(n == static_cast<std::ptrdiff_t>(kPlain.size()));
    CHECK(Bytes(out.begin(), out.begin() + n) == kPlain);

    auto other_nonce = kXNonce;
    other_nonce[23] ^= 1;
    CHECK(open_x(key, other_nonce, kAd, box, out) == -1);
    CHECK(open_x(key_of(4), kXNonce, kAd, box, out) == -1);
    auto ad = kAd;
    ad[0] ^= 0x80;
    CHECK(open_x(key, kXNonce, ad, box, out) == -1);
    for (std::size_t i = 0; i < box.size(); ++i) {
        auto damaged = box;
        damaged[i] ^= 0x01;
        CHECK(open_x(key, kXNonce, kAd, damaged, out) == -1);
    }
    // The IETF construction with the same key does not open it either.
    CHECK(open(key, 0, 0, kAd, box, out) == -1);

    Bytes buf(kPlain.size() + kTagSize);
    std::copy(kPlain.begin(), kPlain.end(), buf.begin());
    REQUIRE(seal_x(key, kXNonce, kAd, std::span(buf.data(), kPlain.size()), buf) == buf.size());
    CHECK(buf == box);
    REQUIRE(open_x(key, kXNonce, kAd, buf, buf) == static_cast<std::ptrdiff_t>(kPlain.size()));
    CHECK(Bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(kPlain.size())) == kPlain);
    CHECK(open_x(key, kXNonce, kAd, Bytes(kTagSize - 1), out) == -1);
}

TEST_CASE("both sides of an X25519 agreement get the same key", "[crypto]") {
    const auto a = generate_key_pair();
    const auto b = generate_key_pair();
    CHECK(public_key_of(a.secret_key) == a.public_key);
    SymmetricKey ab{}, ba{};
    REQUIRE(agree(a.secret_key, b.public_key, ab));
    REQUIRE(agree(b.secret_key, a.public_key, ba));
    CHECK(ab == ba);
    const auto c = generate_key_pair();
    SymmetricKey ac{};
    REQUIRE(agree(a.secret_key, c.public_key, ac));
    CHECK(ac != ab);
}

TEST_CASE("agree refuses a low-order public key", "[crypto]") {
    const auto a = generate_key_pair();
    SymmetricKey out{};
    CHECK_FALSE(agree(a.secret_key, PublicKey{}, out));  // all zeros
    PublicKey one{};
    one[0] = 1;  // u = 1: a point of order 4, which X25519 also maps to zero
    CHECK_FALSE(agree(a.secret_key, one, out));
}

TEST_CASE("derive depends on the key, the label and every part", "[crypto]") {
    const auto key = key_of(5);
    const Bytes p1 = {1, 2, 3};
    const Bytes p2 = {4, 5};
    const auto base = derive(key, "netcore v2 test", {p1, p2});
    CHECK(derive(key, "netcore v2 test", {p1, p2}) == base);  // deterministic
    CHECK(derive(key_of(6), "netcore v2 test", {p1, p2}) != base);
    CHECK(derive(key, "netcore v2 tesT", {p1, p2}) != base);
    CHECK(derive(key, "netcore v2 test", {Bytes{1, 2, 4}, p2}) != base);
    CHECK(derive(key, "netcore v2 test", {p1, Bytes{4, 6}}) != base);
    CHECK(derive(key, "netcore v2 test", {p2, p1}) != base);
    CHECK(derive(key, "netcore v2 test", {p1}) != base);
    CHECK(derive(key, "netcore v2 test", {}) != base);
}

TEST_CASE("the protocol's keys are told apart by direction, salt, token, names and nonces",
          "[crypto]") {
    const auto client = generate_key_pair();
    const auto server = generate_key_pair();
    SymmetricKey shared{};
    REQUIRE(agree(client.secret_key, server.public_key, shared));
    const Bytes salt1(16, 1), salt2(16, 2);
    CHECK(signal_key(shared, client.public_key, server.public_key, salt1) !=
          signal_key(shared, client.public_key, server.public_key, salt2));

    const auto intro =
        introduction_key(shared, 7, "alice", client.public_key, "bob", server.public_key);
    CHECK(introduction_key(shared, 8, "alice", client.public_key, "bob", server.public_key) !=
          intro);
    CHECK(introduction_key(shared, 7, "bob", server.public_key, "alice", client.public_key) !=
          intro);
    // The names are length-prefixed: moving a character from one to the other changes the key.
    CHECK(introduction_key(shared, 7, "alic", client.public_key, "ebob", server.public_key) !=
          intro);
    const auto probe = probe_keys(intro);
    CHECK(probe.initiator_to_responder != probe.responder_to_initiator);
    const Bytes n1(16, 1), n2(16, 2);
    const auto data = data_keys(intro, n1, n2);
    CHECK(data.initiator_to_responder != data.responder_to_initiator);
    CHECK(data.initiator_to_responder != probe.initiator_to_responder);
    CHECK(data_keys(intro, n2, n1).initiator_to_responder != data.initiator_to_responder);
    CHECK(data_keys(intro, n1, n1).initiator_to_responder != data.initiator_to_responder);
}

TEST_CASE("equal compares contents and sizes", "[crypto]") {
    CHECK(equal(Bytes{1, 2}, Bytes{1, 2}));
    CHECK_FALSE(equal(Bytes{1, 2}, Bytes{1, 3}));
    CHECK_FALSE(equal(Bytes{1, 2}, Bytes{1, 2, 3}));
}

TEST_CASE("the replay window accepts each counter once, within 1024 of the highest", "[crypto]") {
    ReplayWindow w;
    SECTION("0 is never fresh") {
        CHECK_FALSE(w.fresh(0));
        w.accept(5);
        CHECK_FALSE(w.fresh(0));
    }
    SECTION("increasing counters are fresh; a repeat is not") {
        for (std::uint64_t c = 1; c <= 3000; ++c) {
            REQUIRE(w.fresh(c));
            w.accept(c);
            REQUIRE_FALSE(w.fresh(c));
        }
        CHECK(w.highest() == 3000);
    }
    SECTION("fresh() does not mark: only accept() does") {
        CHECK(w.fresh(1));
        CHECK(w.fresh(1));
        CHECK(w.highest() == 0);
        w.accept(1);
        CHECK_FALSE(w.fresh(1));
    }
    SECTION("out of order within the window is fresh, once") {
        w.accept(2000);
        for (std::uint64_t c = 2000 - ReplayWindow::kSize + 1; c < 2000; c += 7) {
            INFO(c);
            REQUIRE(w.fresh(c));
            w.accept(c);
            REQUIRE_FALSE(w.fresh(c));
        }
        CHECK(w.highest() == 2000);
        CHECK_FALSE(w.fresh(2000));
        CHECK(w.fresh(1998));  // never accepted
        CHECK(w.fresh(2001));
    }
    SECTION("older than the window is refused, seen or not") {
        w.accept(2000);
        CHECK(w.fresh(2000 - ReplayWindow::kSize + 1));  // the oldest the window holds
        CHECK_FALSE(w.fresh(2000 - ReplayWindow::kSize));
        CHECK_FALSE(w.fresh(1));
    }
    SECTION("sliding forward forgets nothing still inside the window") {
        w.accept(100);
        w.accept(90);
        w.accept(1000);  // 90 and 100 are still within 1024 of 1000
        CHECK_FALSE(w.fresh(90));
        CHECK_FALSE(w.fresh(100));
        CHECK(w.fresh(95));
        w.accept(1100);  // 90 falls out: too old, not fresh
        CHECK_FALSE(w.fresh(90));
        CHECK_FALSE(w.fresh(100));
        // A counter that shares a bit with an old one (same counter mod 1024) is fresh.
        CHECK(w.fresh(90 + ReplayWindow::kSize));
    }
    SECTION("a jump of more than the window clears it") {
        for (std::uint64_t c = 1; c <= 64; ++c) w.accept(c);
        const std::uint64_t far = 64 + ReplayWindow::kSize + 10;
        w.accept(far);
        CHECK(w.highest() == far);
        CHECK_FALSE(w.fresh(far));
        // Everything below `far` inside the new window is unseen, including counters whose bits
        // the old ones used.
        for (std::uint64_t c = far - ReplayWindow::kSize + 1; c < far; ++c) {
            INFO(c);
            REQUIRE(w.fresh(c));
        }
        CHECK_FALSE(w.fresh(64));
    }
    SECTION("a jump of exactly the window clears it too") {
        w.accept(1);
        w.accept(1 + ReplayWindow::kSize);
        CHECK_FALSE(w.fresh(1));
        for (std::uint64_t c = 2; c < 1 + ReplayWindow::kSize; ++c) REQUIRE(w.fresh(c));
    }
}
