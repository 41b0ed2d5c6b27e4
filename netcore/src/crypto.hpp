// The cryptographic primitives netcore uses, all from libsodium (docs/PROTOCOL.md §11): X25519
// key agreement, BLAKE2b key derivation, ChaCha20-Poly1305 (IETF, 96-bit counter nonces) for
// datagrams under keys that are fresh per session, XChaCha20-Poly1305 (192-bit random nonces)
// where a key may be used again by a later session, and a replay window. Nothing here is a
// primitive of our own: these are thin, bounds-checked wrappers with the labels of §11.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>

#include "netcore/keys.hpp"

namespace netcore::crypto {

inline constexpr std::size_t kSymmetricKeySize = 32;  // bytes: ChaCha20-Poly1305 keys
inline constexpr std::size_t kTagSize = 16;           // bytes: the Poly1305 tag on every box
inline constexpr std::size_t kXNonceSize = 24;        // bytes: an XChaCha20-Poly1305 nonce

using SymmetricKey = std::array<std::uint8_t, kSymmetricKeySize>;
using XNonce = std::array<std::uint8_t, kXNonceSize>;

/// Makes libsodium ready (idempotent, thread-safe). False if it cannot be used.
bool init();

/// An X25519 key pair.
struct KeyPair {
    PublicKey public_key{};
    SecretKey secret_key{};
};
/// A fresh key pair from the OS's random source.
[[nodiscard]] KeyPair generate_key_pair();
/// The public key of a secret key.
[[nodiscard]] PublicKey public_key_of(const SecretKey& secret);

/// X25519(secret, peer). False when the result is all zeros (a low-order peer key): refuse it.
[[nodiscard]] bool agree(const SecretKey& secret, const PublicKey& peer, SymmetricKey& out);

/// BLAKE2b-256 keyed with `key` over `label` then each part in order (§11.1): one derived key.
[[nodiscard]] SymmetricKey derive(const SymmetricKey& key, std::string_view label,
                                  std::initializer_list<std::span<const std::uint8_t>> parts);

/// Fills `out` with random bytes.
void random_bytes(std::span<std::uint8_t> out);
[[nodiscard]] std::uint64_t random_u64();

/// ChaCha20-Poly1305 (IETF) with the 12-byte nonce `prefix` (4 bytes, big-endian) || `counter`
/// (8 bytes, big-endian). Writes ciphertext + tag (plaintext.size() + kTagSize bytes) to `out`,
/// which may be the plaintext itself (in place). Returns the size, or 0 if `out` is too small.
std::size_t seal(const SymmetricKey& key, std::uint32_t prefix, std::uint64_t counter,
                 std::span<const std::uint8_t> ad, std::span<const std::uint8_t> plaintext,
                 std::span<std::uint8_t> out);
/// Opens what seal() made; `out` may be the box itself. Returns the plaintext size, or -1 when
/// the box does not open (forged, damaged, other key, other nonce or other `ad`).
std::ptrdiff_t open(const SymmetricKey& key, std::uint32_t prefix, std::uint64_t counter,
                    std::span<const std::uint8_t> ad, std::span<const std::uint8_t> box,
                    std::span<std::uint8_t> out);

/// XChaCha20-Poly1305 (IETF) with a random nonce the caller sends beside the box.
std::size_t seal_x(const SymmetricKey& key, const XNonce& nonce, std::span<const std::uint8_t> ad,
                   std::span<const std::uint8_t> plaintext, std::span<std::uint8_t> out);
std::ptrdiff_t open_x(const SymmetricKey& key, const XNonce& nonce,
                      std::span<const std::uint8_t> ad, std::span<const std::uint8_t> box,
                      std::span<std::uint8_t> out);

// ---- PROTOCOL.md §11: the keys of the protocol, derived -----------------------------------

/// The key of a client's signals to and from the server (§11.2): BLAKE2b-256 keyed with
/// X25519(client, server), over "netcore v2 signal", the client's key, the server's key and the
/// server's salt. Nonce prefix 0 from the client, 1 from the server.
[[nodiscard]] SymmetricKey signal_key(const SymmetricKey& shared, const PublicKey& client,
                                      const PublicKey& server, std::span<const std::uint8_t> salt);
inline constexpr std::uint32_t kFromClient = 0;
inline constexpr std::uint32_t kFromServer = 1;

/// The keys of one introduction between two peers (§11.3), per direction: initiator to
/// responder and back.
struct DirectionKeys {
    SymmetricKey initiator_to_responder{};
    SymmetricKey responder_to_initiator{};
};
/// The introduction's root key: BLAKE2b-256 keyed with X25519(ours, peer's), over
/// "netcore v2 introduction", the token (8 bytes, big-endian), the initiator's name and key, then
/// the responder's name and key (each name as its length byte and bytes).
[[nodiscard]] SymmetricKey introduction_key(const SymmetricKey& shared, std::uint64_t token,
                                            std::string_view initiator_name,
                                            const PublicKey& initiator_key,
                                            std::string_view responder_name,
                                            const PublicKey& responder_key);
/// The probe keys of an introduction: labels "netcore v2 probe i>r" and "netcore v2 probe r>i".
[[nodiscard]] DirectionKeys probe_keys(const SymmetricKey& introduction);
/// The probe tag of an introduction (§11.3): the first 4 bytes (big-endian) of
/// derive(I, "netcore v4 probe tag", -). Both sides derive the same tag; it opens each probe's
/// nonce so a receiver with many peers finds the introduction without trying every key.
[[nodiscard]] std::uint32_t probe_tag(const SymmetricKey& introduction);
/// The data keys of one session: labels "netcore v2 data i>r" and "netcore v2 data r>i", over the
/// initiator's then the responder's session nonce.
[[nodiscard]] DirectionKeys data_keys(const SymmetricKey& introduction,
                                      std::span<const std::uint8_t> initiator_nonce,
                                      std::span<const std::uint8_t> responder_nonce);

// ---- PROTOCOL.md §4.13: owned names (Ed25519 signatures) ------------------------------------

inline constexpr std::size_t kSignSecretSize = 64;  // bytes: libsodium's Ed25519 secret (seed+pk)
inline constexpr std::size_t kSignatureSize = 64;   // bytes: an Ed25519 detached signature

/// An Ed25519 key pair made from a 32-byte seed. The secret half is wiped on destruction.
struct SignKeyPair {
    PublicKey public_key{};
    std::array<std::uint8_t, kSignSecretSize> secret_key{};
    SignKeyPair() = default;
    SignKeyPair(const SignKeyPair&) = default;
    SignKeyPair& operator=(const SignKeyPair&) = default;
    ~SignKeyPair();
};
/// The Ed25519 key pair of `seed` (crypto_sign_seed_keypair).
[[nodiscard]] SignKeyPair sign_key_pair(const std::array<std::uint8_t, kKeySize>& seed);
/// Ed25519 detached signature of `message` by `keys`.
[[nodiscard]] std::array<std::uint8_t, kSignatureSize> sign(const SignKeyPair& keys,
                                                            std::span<const std::uint8_t> message);
/// True when `signature` is `key`'s over `message` (false for malformed or small-order keys).
[[nodiscard]] bool verify(const PublicKey& key, std::span<const std::uint8_t> message,
                          const std::array<std::uint8_t, kSignatureSize>& signature);

/// Constant-time comparison of two equal-sized byte ranges.
[[nodiscard]] bool equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

/// Which counters were already accepted: the highest seen and a window of kSize below it
/// (RFC 6479's idea, a bitmap). Counters start at 1; 0 is never accepted.
class ReplayWindow {
  public:
    static constexpr std::uint64_t kSize = 1024;  // counters: a burst ENet may reorder, x4

    /// True if `counter` may be accepted: not seen, and not older than the window. Does not
    /// mark it: call accept() once the datagram opened, so forgeries cannot move the window.
    [[nodiscard]] bool fresh(std::uint64_t counter) const;
    /// Marks `counter` as seen (it must have been fresh()).
    void accept(std::uint64_t counter);
    [[nodiscard]] std::uint64_t highest() const { return highest_; }

  private:
    static constexpr std::size_t kWords = kSize / 64;
    [[nodiscard]] bool seen(std::uint64_t counter) const;
    std::uint64_t highest_ = 0;
    std::array<std::uint64_t, kWords> bits_{};
};

}  // namespace netcore::crypto
