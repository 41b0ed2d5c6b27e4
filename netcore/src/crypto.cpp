#include "crypto.hpp"

#include <sodium.h>

#include <cstring>

namespace netcore::crypto {

namespace {

// The 12-byte IETF nonce: a 4-byte prefix that tells the directions of one key apart, then
// the datagram's counter. Both big-endian, as everything on our wire.
std::array<std::uint8_t, crypto_aead_chacha20poly1305_IETF_NPUBBYTES> nonce_of(
    std::uint32_t prefix, std::uint64_t counter) {
    std::array<std::uint8_t, crypto_aead_chacha20poly1305_IETF_NPUBBYTES> n{};
    for (int i = 0; i < 4; ++i)
        n[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(prefix >> (24 - 8 * i));
    for (int i = 0; i < 8; ++i)
        n[static_cast<std::size_t>(4 + i)] = static_cast<std::uint8_t>(counter >> (56 - 8 * i));
    return n;
}

}  // namespace

static_assert(kTagSize == crypto_aead_chacha20poly1305_IETF_ABYTES);
static_assert(kTagSize == crypto_aead_xchacha20poly1305_IETF_ABYTES);
static_assert(kXNonceSize == crypto_aead_xchacha20poly1305_IETF_NPUBBYTES);
static_assert(kKeySize == crypto_scalarmult_BYTES);

bool init() {
    static const bool ok = sodium_init() >= 0;
    return ok;
}

KeyPair generate_key_pair() {
    init();
    KeyPair k;
    crypto_box_keypair(k.public_key.data(), k.secret_key.data());
    return k;
}

PublicKey public_key_of(const SecretKey& secret) {
    init();
    PublicKey pk{};
    crypto_scalarmult_base(pk.data(), secret.data());
    return pk;
}

bool agree(const SecretKey& secret, const PublicKey& peer, SymmetricKey& out) {
    init();
    return crypto_scalarmult(out.data(), secret.data(), peer.data()) == 0;
}

SymmetricKey derive(const SymmetricKey& key, std::string_view label,
                    std::initializer_list<std::span<const std::uint8_t>> parts) {
    init();
    crypto_generichash_state state;
    crypto_generichash_init(&state, key.data(), key.size(), kSymmetricKeySize);
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(label.data()),
                              label.size());
    for (const auto& p : parts) crypto_generichash_update(&state, p.data(), p.size());
    SymmetricKey out{};
    crypto_generichash_final(&state, out.data(), out.size());
    return out;
}

void random_bytes(std::span<std::uint8_t> out) {
    init();
    randombytes_buf(out.data(), out.size());
}

std::uint64_t random_u64() {
    std::uint64_t v = 0;
    random_bytes({reinterpret_cast<std::uint8_t*>(&v), sizeof v});
    return v;
}

std::size_t seal(const SymmetricKey& key, std::uint32_t prefix, std::uint64_t counter,
                 std::span<const std::uint8_t> ad, std::span<const std::uint8_t> plaintext,
                 std::span<std::uint8_t> out) {
    if (out.size() < plaintext.size() + kTagSize) return 0;
    const auto nonce = nonce_of(prefix, counter);
    unsigned long long n = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &n, plaintext.data(), plaintext.size(),
                                              ad.data(), ad.size(), nullptr, nonce.data(),
                                              key.data());
    return static_cast<std::size_t>(n);
}

std::ptrdiff_t open(const SymmetricKey& key, std::uint32_t prefix, std::uint64_t counter,
                    std::span<const std::uint8_t> ad, std::span<const std::uint8_t> box,
                    std::span<std::uint8_t> out) {
    if (box.size() < kTagSize || out.size() < box.size() - kTagSize) return -1;
    const auto nonce = nonce_of(prefix, counter);
    unsigned long long n = 0;
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), &n, nullptr, box.data(), box.size(),
                                                  ad.data(), ad.size(), nonce.data(),
                                                  key.data()) != 0)
        return -1;
    return static_cast<std::ptrdiff_t>(n);
}

std::size_t seal_x(const SymmetricKey& key, const XNonce& nonce, std::span<const std::uint8_t> ad,
                   std::span<const std::uint8_t> plaintext, std::span<std::uint8_t> out) {
    if (out.size() < plaintext.size() + kTagSize) return 0;
    unsigned long long n = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), &n, plaintext.data(), plaintext.size(),
                                               ad.data(), ad.size(), nullptr, nonce.data(),
                                               key.data());
    return static_cast<std::size_t>(n);
}

std::ptrdiff_t open_x(const SymmetricKey& key, const XNonce& nonce,
                      std::span<const std::uint8_t> ad, std::span<const std::uint8_t> box,
                      std::span<std::uint8_t> out) {
    if (box.size() < kTagSize || out.size() < box.size() - kTagSize) return -1;
    unsigned long long n = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &n, nullptr, box.data(), box.size(),
                                                   ad.data(), ad.size(), nonce.data(),
                                                   key.data()) != 0)
        return -1;
    return static_cast<std::ptrdiff_t>(n);
}

// ---- §11 keys ------------------------------------------------------------------------------

SymmetricKey signal_key(const SymmetricKey& shared, const PublicKey& client,
                        const PublicKey& server, std::span<const std::uint8_t> salt) {
    return derive(shared, "netcore v2 signal", {client, server, salt});
}

namespace {
std::array<std::uint8_t, 1> length_byte(std::string_view s) {
    return {static_cast<std::uint8_t>(s.size())};
}
std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
}  // namespace

SymmetricKey introduction_key(const SymmetricKey& shared, std::uint64_t token,
                              std::string_view initiator_name, const PublicKey& initiator_key,
                              std::string_view responder_name, const PublicKey& responder_key) {
    std::array<std::uint8_t, 8> t{};
    for (int i = 0; i < 8; ++i)
        t[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(token >> (56 - 8 * i));
    const auto il = length_byte(initiator_name);
    const auto rl = length_byte(responder_name);
    return derive(shared, "netcore v2 introduction",
                  {t, il, bytes_of(initiator_name), initiator_key, rl, bytes_of(responder_name),
                   responder_key});
}

DirectionKeys probe_keys(const SymmetricKey& introduction) {
    return {derive(introduction, "netcore v2 probe i>r", {}),
            derive(introduction, "netcore v2 probe r>i", {})};
}

std::uint32_t probe_tag(const SymmetricKey& introduction) {
    const SymmetricKey k = derive(introduction, "netcore v4 probe tag", {});
    return (std::uint32_t{k[0]} << 24) | (std::uint32_t{k[1]} << 16) | (std::uint32_t{k[2]} << 8) |
           k[3];
}

DirectionKeys data_keys(const SymmetricKey& introduction,
                        std::span<const std::uint8_t> initiator_nonce,
                        std::span<const std::uint8_t> responder_nonce) {
    return {derive(introduction, "netcore v2 data i>r", {initiator_nonce, responder_nonce}),
            derive(introduction, "netcore v2 data r>i", {initiator_nonce, responder_nonce})};
}

bool equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

// ---- ReplayWindow ---------------------------------------------------------------------------

bool ReplayWindow::seen(std::uint64_t counter) const {
    const std::uint64_t bit = counter % kSize;
    return (bits_[bit / 64] >> (bit % 64)) & 1u;
}

bool ReplayWindow::fresh(std::uint64_t counter) const {
    if (counter == 0) return false;
    if (counter > highest_) return true;
    if (highest_ - counter >= kSize) return false;  // older than the window: cannot tell
    return !seen(counter);
}

void ReplayWindow::accept(std::uint64_t counter) {
    if (counter > highest_) {
        // Clear the bits of the counters the window slides over (all of them after a big jump).
        const std::uint64_t gap = counter - highest_;
        if (gap >= kSize) {
            bits_.fill(0);
        } else {
            for (std::uint64_t c = highest_ + 1; c < counter; ++c) {
                const std::uint64_t bit = c % kSize;
                bits_[bit / 64] &= ~(std::uint64_t{1} << (bit % 64));
            }
        }
        highest_ = counter;
    }
    const std::uint64_t bit = counter % kSize;
    bits_[bit / 64] |= std::uint64_t{1} << (bit % 64);
}

// ---- Ed25519 (owned names) ---------------------------------------------------------------------

static_assert(kSignSecretSize == crypto_sign_SECRETKEYBYTES);
static_assert(kSignatureSize == crypto_sign_BYTES);
static_assert(kKeySize == crypto_sign_PUBLICKEYBYTES && kKeySize == crypto_sign_SEEDBYTES);

SignKeyPair::~SignKeyPair() {
    sodium_memzero(secret_key.data(), secret_key.size());
}

SignKeyPair sign_key_pair(const std::array<std::uint8_t, kKeySize>& seed) {
    init();
    SignKeyPair k;
    crypto_sign_seed_keypair(k.public_key.data(), k.secret_key.data(), seed.data());
    return k;
}

std::array<std::uint8_t, kSignatureSize> sign(const SignKeyPair& keys,
                                              std::span<const std::uint8_t> message) {
    std::array<std::uint8_t, kSignatureSize> sig{};
    crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(),
                         keys.secret_key.data());
    return sig;
}

bool verify(const PublicKey& key, std::span<const std::uint8_t> message,
            const std::array<std::uint8_t, kSignatureSize>& signature) {
    return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                       key.data()) == 0;
}

}  // namespace netcore::crypto
