// Keys as hex text: how a game build pins the rendezvous server's public key (and hex.hpp);
// secret keys kept in files (a rendezvous' --key-file, a player's name key).
#include "netcore/keys.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "hex.hpp"

namespace netcore {

std::optional<PublicKey> parse_key(std::string_view hex) {
    PublicKey key{};
    if (!detail::from_hex_text(hex, key)) return std::nullopt;
    return key;
}

std::string to_hex(std::span<const std::uint8_t, kKeySize> key) {
    return detail::to_hex_text(key);
}

// ---- key files ----------------------------------------------------------------------------

namespace {

constexpr std::size_t kHexSize = 2 * kKeySize;  // characters

// Closes a descriptor when the scope ends.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

std::string mode_text(mode_t mode) {
    std::array<char, 8> text{};
    std::snprintf(text.data(), text.size(), "%04o", static_cast<unsigned>(mode & 07777));
    return text.data();
}

// Reads the key file open on `fd` into `out`: empty, or why not.
std::string read_key_file(int fd, const std::string& path, KeyFile& out) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return path + ": cannot read: " + std::strerror(errno);
    if (!S_ISREG(st.st_mode)) return path + ": not a regular file";
    if ((st.st_mode & 077) != 0)
        return path + ": permissions " + mode_text(st.st_mode) +
               " are too open for a secret key: run chmod 600 " + path;
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
    out.key = shaped ? parse_key(text.substr(0, kHexSize)) : std::nullopt;
    sodium_memzero(buffer.data(), buffer.size());
    if (!out.key) return path + ": not a key file (expected 64 hex digits)";
    return {};
}

// Writes `key` to a file made at `path`: 0, or the errno of what failed (EEXIST when another
// process made the file meanwhile).
int write_key_file(const std::string& path, const SecretKey& key) {
    // mkostemp: mode 0600 and O_EXCL, so no one else can have it open.
    std::string tmp = path + ".tmp-XXXXXX";
    Fd file{::mkostemp(tmp.data(), O_CLOEXEC)};
    if (file.fd < 0) return errno;
    int error_number = 0;
    std::string text = to_hex(key) + "\n";
    std::size_t written = 0;
    while (error_number == 0 && written < text.size()) {
        const ssize_t n = ::write(file.fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            error_number = errno;
        else
            written += static_cast<std::size_t>(n);
    }
    sodium_memzero(text.data(), text.size());
    if (error_number == 0 && ::fsync(file.fd) != 0) error_number = errno;
    // link, not rename: a file another process made meanwhile is kept, never replaced.
    if (error_number == 0 && ::link(tmp.c_str(), path.c_str()) != 0) error_number = errno;
    ::unlink(tmp.c_str());
    if (error_number != 0) return error_number;
    // The new name is durable once the directory is synced; a failure here loses nothing now.
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
    Fd directory{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (directory.fd >= 0) ::fsync(directory.fd);
    return 0;
}

// Reads the file at `path` into `out` when it exists. False when there is none.
bool read_existing(const std::string& path, KeyFile& out) {
    Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (file.fd >= 0) {
        out.error = read_key_file(file.fd, path, out);
        return true;
    }
    if (errno == ENOENT) return false;
    out.error = path + ": cannot read: " + std::strerror(errno);
    return true;
}

}  // namespace

KeyFile load_or_create_key_file(const std::string& path) {
    KeyFile out;
    if (sodium_init() < 0) {
        out.error = "libsodium failed to initialise";
        return out;
    }
    if (read_existing(path, out)) return out;
    SecretKey key{};
    randombytes_buf(key.data(), key.size());
    const int error_number = write_key_file(path, key);
    if (error_number == 0) {
        out.key = key;
        out.created = true;
    } else if (error_number == EEXIST) {
        read_existing(path, out);  // another process made it first: theirs holds
    } else {
        out.error = "cannot create " + path + ": " + std::strerror(error_number);
    }
    sodium_memzero(key.data(), key.size());
    return out;
}

// ---- hex.hpp ------------------------------------------------------------------------------

namespace detail {

namespace {

// The value of one hex digit, or -1.
int hex_value(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

bool is_space(char ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

}  // namespace

std::string to_hex_text(std::span<const std::uint8_t> bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * bytes.size());
    for (const std::uint8_t byte : bytes) {
        out += kDigits[byte >> 4];
        out += kDigits[byte & 0x0f];
    }
    return out;
}

bool from_hex_text(std::string_view text, std::span<std::uint8_t> out) {
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    if (text.size() != 2 * out.size()) return false;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int high = hex_value(text[2 * i]);
        const int low = hex_value(text[2 * i + 1]);
        if (high < 0 || low < 0) return false;
        out[i] = static_cast<std::uint8_t>(high * 16 + low);
    }
    return true;
}

}  // namespace detail

}  // namespace netcore
