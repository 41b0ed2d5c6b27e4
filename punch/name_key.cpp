// The --name-key file: read it, or create it privately and atomically.
#include "name_key.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace punch {

namespace {

constexpr std::size_t kHexSize = 2 * netcore::kKeySize;  // characters

// Closes a descriptor when the scope ends.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

std::optional<netcore::SecretKey> read_seed(int fd, const std::string& path, std::string& error) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        error = path + ": cannot read: " + std::strerror(errno);
        return std::nullopt;
    }
    if (!S_ISREG(st.st_mode)) {
        error = path + ": not a regular file";
        return std::nullopt;
    }
    if ((st.st_mode & 077) != 0) {
        std::array<char, 8> mode{};
        std::snprintf(mode.data(), mode.size(), "%04o", static_cast<unsigned>(st.st_mode & 07777));
        error = path + ": permissions " + mode.data() +
                " are too open for a name key: run chmod 600 " + path;
        return std::nullopt;
    }
    std::array<char, kHexSize + 2> buffer{};  // one byte more than a valid file holds
    std::size_t size = 0;
    for (;;) {
        const ssize_t n = ::read(fd, buffer.data() + size, buffer.size() - size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            error = path + ": cannot read: " + std::strerror(errno);
            return std::nullopt;
        }
        if (n == 0) break;
        size += static_cast<std::size_t>(n);
        if (size == buffer.size()) break;
    }
    const std::string_view text(buffer.data(), size);
    const bool shaped =
        text.size() == kHexSize || (text.size() == kHexSize + 1 && text.back() == '\n');
    auto seed = shaped ? netcore::parse_key(text.substr(0, kHexSize)) : std::nullopt;
    sodium_memzero(buffer.data(), buffer.size());
    if (!seed) error = path + ": not a name key file (expected 64 hex digits)";
    return seed;
}

std::string write_seed(const std::string& path, const netcore::SecretKey& seed) {
    // mkostemp: mode 0600 and O_EXCL; the rename makes the file appear whole or not at all.
    std::string tmp = path + ".tmp-XXXXXX";
    Fd file{::mkostemp(tmp.data(), O_CLOEXEC)};
    if (file.fd < 0) return "cannot create " + path + ": " + std::strerror(errno);
    std::string text = netcore::to_hex(seed) + "\n";
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
    if (why.empty() && ::fsync(file.fd) != 0) why = std::strerror(errno);
    // link, not rename: a file another punch created meanwhile is kept, never replaced.
    if (why.empty() && ::link(tmp.c_str(), path.c_str()) != 0) why = std::strerror(errno);
    ::unlink(tmp.c_str());
    if (!why.empty()) return "cannot create " + path + ": " + why;
    return {};
}

}  // namespace

std::optional<netcore::SecretKey> load_or_create_name_key(const std::string& path, bool& created,
                                                          std::string& error) {
    created = false;
    if (sodium_init() < 0) {
        error = "libsodium failed to initialise";
        return std::nullopt;
    }
    {
        Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
        if (file.fd >= 0) return read_seed(file.fd, path, error);
        if (errno != ENOENT) {
            error = path + ": cannot read: " + std::strerror(errno);
            return std::nullopt;
        }
    }
    netcore::SecretKey seed{};
    randombytes_buf(seed.data(), seed.size());
    if (auto why = write_seed(path, seed); !why.empty()) {
        sodium_memzero(seed.data(), seed.size());
        error = std::move(why);
        return std::nullopt;
    }
    created = true;
    return seed;
}

}  // namespace punch
