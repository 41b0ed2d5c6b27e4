#include "ticket_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

namespace punch {

namespace {

// A ticket's text is 162 hex digits and a newline: anything much longer is not one.
constexpr std::streamsize kMaxTicketFile = 1024;

}  // namespace

std::optional<netcore::ResumeTicket> load_ticket(const std::string& path, std::string& warning) {
    warning.clear();
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (errno != ENOENT) warning = "cannot read the ticket file " + path + ": ignored";
        return std::nullopt;
    }
    std::string text(static_cast<std::size_t>(kMaxTicketFile), '\0');
    in.read(text.data(), kMaxTicketFile);
    text.resize(static_cast<std::size_t>(in.gcount()));
    auto ticket = netcore::ResumeTicket::parse(text);
    if (!ticket) warning = "the ticket file " + path + " holds no ticket: ignored";
    return ticket;
}

bool save_ticket(const std::string& path, const netcore::ResumeTicket& ticket, std::string& error) {
    const std::string temp = path + ".tmp";
    const std::string text = ticket.to_text() + "\n";
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        error = "cannot write the ticket file " + temp + ": " + std::strerror(errno);
        return false;
    }
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    const bool closed = ::close(fd) == 0;
    if (!written || !closed || std::rename(temp.c_str(), path.c_str()) != 0) {
        error = "cannot write the ticket file " + path + ": " + std::strerror(errno);
        std::remove(temp.c_str());
        return false;
    }
    return true;
}

}  // namespace punch
