// The server's key file: read it, or create it privately and atomically.
#include "server_key.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "crypto.hpp"  // netcore's X25519 wrappers

namespace rendezvous {

namespace {

// The file's whole content: the secret key in hex, and an optional newline.
constexpr std::size_t kHexSize = 2 * netcore::kKeySize;  // characters

void init_sodium() {
    if (!netcore::crypto::init()) throw std::runtime_error("libsodium failed to initialise");
}

ServerKey from_secret(const netcore::SecretKey& secret) {
    ServerKey key;
    key.secret_key = secret;
    key.public_key = netcore::crypto::public_key_of(secret);
    return key;
}

void set(std::string* out, std::string text) {
    if (out != nullptr) *out = std::move(text);
}

std::string mode_text(mode_t mode) {
    std::array<char, 8> text{};
    std::snprintf(text.data(), text.size(), "%04o", static_cast<unsigned>(mode & 07777));
    return text.data();
}

// Closes a descriptor when the scope ends.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

// Reads the existing file open on `fd` into `key`. Returns an empty string, or why not.
std::string read_key(int fd, const std::string& path, ServerKey& key) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return path + ": cannot read: " + std::strerror(errno);
    if (!S_ISREG(st.st_mode)) return path + ": not a regular file";
    if ((st.st_mode & 077) != 0)
        return path + ": permissions " + mode_text(st.st_mode) +
               " are too open for the server's secret key: run chmod 600 " + path;
    // One byte more than a valid file can hold, so a longer file is seen to be longer.
    std::array<char, kHexSize + 2> buffer{};
    std::size_t size = 0;
    for (;;) {
        const ssize_t n = ::read(fd, buffer.data() + size, buffer.size() - size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return path + ": cannot read: " + std::strerror(errno);
        if (n == 0) break;
        size += static_cast<std::size_t>(n);
        if (size == buffer.size()) break;
    }
    const std::string_view text(buffer.data(), size);
    const bool shaped =
        text.size() == kHexSize || (text.size() == kHexSize + 1 && text.back() == '\n');
    const auto secret = shaped ? netcore::parse_key(text.substr(0, kHexSize)) : std::nullopt;
    sodium_memzero(buffer.data(), buffer.size());
    if (!secret) return path + ": not a key file (expected 64 hex digits)";
    key = from_secret(*secret);
    return {};
}

// Writes `key`'s secret to a new file at `path`. Returns an empty string, or why not.
std::string write_key(const std::string& path, const ServerKey& key) {
    // mkostemp creates the file with mode 0600 and O_EXCL: no one else can have it open.
    std::string tmp = path + ".tmp-XXXXXX";
    Fd file{::mkostemp(tmp.data(), O_CLOEXEC)};
    if (file.fd < 0) return "cannot create " + path + ": " + std::strerror(errno);
    std::string text = netcore::to_hex(key.secret_key) + "\n";
    std::string why;
    std::size_t written = 0;
    while (why.empty() && written < text.size()) {
        const ssize_t n = ::write(file.fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            why = std::strerror(errno);
        else
            written += static_cast<std::size_t>(n);
    }
    sodium_memzero(text.data(), text.size());
    if (why.empty() && ::fchmod(file.fd, 0600) != 0) why = std::strerror(errno);
    if (why.empty() && ::fsync(file.fd) != 0) why = std::strerror(errno);
    if (why.empty() && ::rename(tmp.c_str(), path.c_str()) != 0) why = std::strerror(errno);
    if (!why.empty()) {
        ::unlink(tmp.c_str());
        return "cannot create " + path + ": " + why;
    }
    // The rename is durable once the directory is synced; a failure here loses nothing now.
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
    Fd directory{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (directory.fd >= 0) ::fsync(directory.fd);
    return {};
}

}  // namespace

ServerKey::~ServerKey() {
    sodium_memzero(secret_key.data(), secret_key.size());
}

std::optional<ServerKey> load_or_create_key(const std::string& path, bool* created,
                                            std::string* error) {
    init_sodium();
    if (created != nullptr) *created = false;
    ServerKey key;
    Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (file.fd >= 0) {
        if (auto why = read_key(file.fd, path, key); !why.empty()) {
            set(error, std::move(why));
            return std::nullopt;
        }
        return key;
    }
    if (errno != ENOENT) {
        set(error, path + ": cannot read: " + std::strerror(errno));
        return std::nullopt;
    }
    key = make_ephemeral_key();
    if (auto why = write_key(path, key); !why.empty()) {
        set(error, std::move(why));
        return std::nullopt;
    }
    if (created != nullptr) *created = true;
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
