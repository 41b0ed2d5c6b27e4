// The server's key file: netcore's key file (read it, or create it privately and atomically),
// and the public key derived from its secret.
#include "server_key.hpp"

#include <sodium.h>

#include <stdexcept>

#include "crypto.hpp"  // netcore's X25519 wrappers

namespace rendezvous {

namespace {

void init_sodium() {
    if (!netcore::crypto::init()) throw std::runtime_error("libsodium failed to initialise");
}

}  // namespace

ServerKey::~ServerKey() {
    sodium_memzero(secret_key.data(), secret_key.size());
}

std::optional<ServerKey> load_or_create_key(const std::string& path, bool* created,
                                            std::string* error) {
    init_sodium();
    netcore::KeyFile file = netcore::load_or_create_key_file(path);
    if (created != nullptr) *created = file.created;
    if (!file.key) {
        if (error != nullptr) *error = std::move(file.error);
        return std::nullopt;
    }
    ServerKey key;
    key.secret_key = *file.key;
    key.public_key = netcore::crypto::public_key_of(key.secret_key);
    sodium_memzero(file.key->data(), file.key->size());
    return key;
}

ServerKey make_ephemeral_key() {
    init_sodium();
    auto pair = netcore::crypto::generate_key_pair();
    ServerKey key;
    key.public_key = pair.public_key;
    key.secret_key = pair.secret_key;
    sodium_memzero(pair.secret_key.data(), pair.secret_key.size());
    return key;
}

}  // namespace rendezvous
