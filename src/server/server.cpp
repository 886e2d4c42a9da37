// The transport, after Beast's http_server_async: a listener, one session per connection,
// a timeout on every read and write, header and body limits, keep-alive, N threads on one io_context;
// heavy requests (Route::heavy) answered by a bounded worker pool, off the I/O threads.
#include "ideo/server/server.hpp"

#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "auth.hpp"
#include "ideo/core/error.hpp"
#include "http.hpp"
#include "services.hpp"

namespace ideo::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// How long a stop waits for requests in flight before it drops them.
constexpr std::chrono::seconds stop_grace{5};
// After an error that ends the connection, how long and how much we read and discard so the
// client gets our answer instead of a reset (what nginx calls a lingering close).
constexpr std::chrono::seconds linger_time{2};
constexpr std::size_t linger_bytes = 1024 * 1024;
// The workers' niceness: when a core is wanted by both, the I/O threads (tiles, items) get it.
constexpr int worker_niceness = 10;
// What a 503 for a full worker queue tells the client to wait, in seconds.
constexpr const char* busy_retry_after = "2";

unsigned or_cores(unsigned n) {
    if (n == 0) n = std::thread::hardware_concurrency();
    return n ? n : 1;
}

}  // namespace

namespace detail {

// A fixed number of threads and a bounded queue: where heavy requests are answered.
class WorkerPool {
public:
    WorkerPool(unsigned threads, std::size_t capacity) : capacity_(capacity) {
        for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
    }

    // Jobs still queued are dropped (not run); running ones finish first.
    ~WorkerPool() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        ready_.notify_all();
        for (auto& t : threads_) t.join();
    }

    // False when `capacity` jobs are already waiting: the caller answers 503.
    bool try_submit(std::function<void()> job) {
        {
            std::lock_guard lock(mutex_);
            if (queue_.size() >= capacity_) return false;
            queue_.push_back(std::move(job));
        }
        ready_.notify_one();
        return true;
    }

private:
    void work() {
#ifdef __linux__
        setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), worker_niceness);  // per thread on Linux; inherited by its helpers
#endif
        for (;;) {
            std::function<void()> job;
            {
                std::unique_lock lock(mutex_);
                ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
                if (stopping_) return;
                job = std::move(queue_.front());
                queue_.pop_front();
            }
            try {
                job();
            } catch (const std::exception& e) {  // answer() never throws; a failed allocation around it might
                std::cerr << "ideo serve: unexpected error in a worker: " << e.what() << '\n';
            }
        }
    }

    const std::size_t capacity_;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::function<void()>> queue_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

// What sessions share with the server: the options, the snapshot, the worker pool and the stop bookkeeping.
struct ServerState {
    ServerState(ServerOptions o, index::SnapshotHolder& s) : options(std::move(o)), snapshots(s) {}
    ServerOptions options;
    index::SnapshotHolder& snapshots;
    std::unique_ptr<WorkerPool> workers;  // while run() serves
    std::atomic<int> in_flight{0};  // requests read and not yet fully written
    std::atomic<bool> stopping{false};
    FailureLimiter failures;  // failed credentials per client address
};

}  // namespace detail

struct Server::Impl : detail::ServerState {
    Impl(ServerOptions o, index::SnapshotHolder& s)
        : ServerState(std::move(o), s), acceptor(net::make_strand(ioc)), signals(acceptor.get_executor()),
          timer(acceptor.get_executor()) {}

    void listen();
    void do_accept();
    void begin_stop();
    void wait_for_requests_in_flight(std::chrono::steady_clock::time_point deadline);

    net::io_context ioc;     // declared before the I/O objects, so destroyed after them
    tcp::acceptor acceptor;  // on a strand: accept, stop and signals never race
    net::signal_set signals;
    net::steady_timer timer;  // accept back-off and stop drain
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket&& socket, detail::ServerState& server) : stream_(std::move(socket)), server_(server) {
        beast::error_code ec;
        const auto peer = stream_.socket().remote_endpoint(ec);
        if (!ec) client_ = peer.address().to_string();
    }

    void run() {
        // Start on the session's strand, as the accepted socket's executor asks.
        net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::do_read, shared_from_this()));
    }

private:
    void do_read() {
        if (server_.stopping) return close();
        parser_.emplace();  // a fresh parser per request, with the limits of the options
        parser_->header_limit(static_cast<std::uint32_t>(server_.options.header_limit));
        parser_->body_limit(server_.options.body_limit);
        stream_.expires_after(server_.options.read_timeout);
        http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted)
            return close();
        if (ec) return reject(ec);

        auto& req = parser_->get();
        server_.in_flight++;
        counted_ = true;
        // One snapshot for the whole request: a publish meanwhile does not change its answer.
        snapshot_ = server_.snapshots.get();
        Headers headers;
        for (const auto& h : req) {
            std::string name(h.name_string());
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            headers.emplace_back(std::move(name), std::string(h.value()));
        }
        routed_ = route_request(req.method_string(), req.target(), std::move(headers), std::move(req.body()), &server_.options,
                                client_, &server_.failures);
        if (!routed_->route.heavy || routed_->refused) return respond(answer(*routed_, snapshot_.get()));
        if (!server_.workers->try_submit([self = shared_from_this()] { self->answer_on_worker(); })) {
            Response busy = json_error(503, "ServiceUnavailable", "the server is busy with other extracts; retry in a moment");
            busy.headers.emplace_back("Retry-After", busy_retry_after);
            routed_->refused = std::move(busy);
            respond(answer(*routed_, snapshot_.get()));
        }
    }

    // On a worker thread; the session waits meanwhile (no operation pending on its socket).
    void answer_on_worker() {
        if (!client_waiting()) {  // it went away while the request was queued: nobody to build the file for
            routed_.reset();
            snapshot_.reset();
            return net::post(stream_.get_executor(), [self = shared_from_this()] {
                self->uncount();
                self->close();
            });
        }
        Response r = answer(*routed_, snapshot_.get());
        net::post(stream_.get_executor(), [self = shared_from_this(), r = std::move(r)]() mutable { self->respond(std::move(r)); });
    }

    // Whether the client is still connected: a peek that neither blocks nor consumes (a pipelined request stays).
    bool client_waiting() {
        char byte;
        const ssize_t n = ::recv(stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR));
    }

    void respond(Response r) {
        const auto& req = parser_->get();
        routed_.reset();
        snapshot_.reset();
        send(std::move(r), req.version(), req.keep_alive() && !server_.stopping, req.method() == http::verb::head);
    }

    // A request the parser refused: answer with the status its fault deserves, then end the connection.
    void reject(beast::error_code ec) {
        Response r;
        if (ec == http::error::header_limit) {
            // The parser stores the request line once complete: no target yet means the line itself was too long.
            const auto target = parser_->get().target();
            if (target.empty() || target.size() > max_target_length)
                r = json_error(414, "URITooLong",
                               "request line exceeds " + std::to_string(max_target_length) + " bytes");
            else
                r = json_error(431, "RequestHeaderFieldsTooLarge",
                               "request header exceeds " + std::to_string(server_.options.header_limit) + " bytes");
        } else if (ec == http::error::body_limit) {
            r = json_error(413, "PayloadTooLarge",
                           "request body exceeds " + std::to_string(server_.options.body_limit) + " bytes");
        } else if (ec.category() == http::make_error_code(http::error::bad_target).category()) {  // any other HTTP syntax error
            r = json_error(400, "InvalidRequest", "malformed HTTP request: " + ec.message());
        } else {
            return close();  // a network error: nobody to answer
        }
        send(std::move(r), 11, false, false);
    }

    void send(Response r, unsigned version, bool keep_alive, bool head) {
        res_ = {};
        res_.version(version);
        res_.result(static_cast<unsigned>(r.status));
        res_.set(http::field::server, "ideo");
        if (!r.content_type.empty()) res_.set(http::field::content_type, r.content_type);  // none on a 204 preflight
        res_.set(http::field::access_control_allow_origin, "*");
        for (const auto& [name, value] : r.headers) res_.set(name, value);
        res_.keep_alive(keep_alive);
        res_.body() = std::move(r.body);
        res_.prepare_payload();
        if (head) res_.body().clear();  // HEAD: the GET's headers, Content-Length included, and no body
        stream_.expires_after(server_.options.read_timeout);
        http::async_write(stream_, res_, beast::bind_front_handler(&Session::on_write, shared_from_this()));
    }

    void uncount() {
        if (counted_) {
            counted_ = false;
            server_.in_flight--;
        }
    }

    void on_write(beast::error_code ec, std::size_t) {
        uncount();
        if (ec) return close();
        if (!res_.keep_alive()) return linger_close();
        res_ = {};  // free the body before waiting for the next request
        do_read();
    }

    void linger_close() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
        stream_.expires_after(linger_time);
        drain();
    }

    void drain() {
        stream_.async_read_some(net::buffer(discard_), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
            self->drained_ += n;
            if (ec || self->drained_ > linger_bytes) return self->close();
            self->drain();
        });
    }

    void close() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream_.socket().close(ec);
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> res_;  // kept alive until async_write completes
    detail::ServerState& server_;
    std::optional<RoutedRequest> routed_;                 // the request being answered
    std::shared_ptr<const index::Snapshot> snapshot_;    // the snapshot it is answered from
    bool counted_ = false;
    std::size_t drained_ = 0;
    std::string client_;  // the peer's address: failed credentials are counted per address
    std::array<char, 8192> discard_{};
};

}  // namespace

void Server::Impl::listen() {
    beast::error_code ec;
    const auto address = net::ip::make_address(options.address, ec);
    if (ec) throw InputError("listen address '" + options.address + "': " + ec.message());
    const tcp::endpoint endpoint{address, options.port};
    const std::string where = options.address + ":" + std::to_string(options.port);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) throw Error("cannot listen on " + where + ": " + ec.message());
}

void Server::Impl::do_accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
        if (!acceptor.is_open()) return;  // stopping
        if (!ec) {
            std::make_shared<Session>(std::move(socket), *this)->run();
            return do_accept();
        }
        // Out of file descriptors and the like: back off instead of spinning.
        timer.expires_after(std::chrono::milliseconds(50));
        timer.async_wait([this](beast::error_code) {
            if (acceptor.is_open()) do_accept();
        });
    });
}

void Server::Impl::begin_stop() {
    if (stopping.exchange(true)) return;
    beast::error_code ec;
    acceptor.close(ec);
    signals.cancel(ec);
    timer.cancel();
    wait_for_requests_in_flight(std::chrono::steady_clock::now() + stop_grace);
}

void Server::Impl::wait_for_requests_in_flight(std::chrono::steady_clock::time_point deadline) {
    if (in_flight == 0 || std::chrono::steady_clock::now() >= deadline) return ioc.stop();
    timer.expires_after(std::chrono::milliseconds(20));
    timer.async_wait([this, deadline](beast::error_code) { wait_for_requests_in_flight(deadline); });
}

Server::Server(ServerOptions options, index::SnapshotHolder& snapshots)
    : impl_(std::make_unique<Impl>(std::move(options), snapshots)) {}

Server::~Server() = default;

void Server::run(const std::function<void(unsigned short)>& on_listening) {
    Impl& im = *impl_;
    im.listen();
    im.signals.add(SIGINT);
    im.signals.add(SIGTERM);
    im.signals.async_wait([&im](beast::error_code ec, int) {
        if (!ec) im.begin_stop();
    });
    im.do_accept();
    if (on_listening) on_listening(im.acceptor.local_endpoint().port());

    // A handler that throws must not take the process down: log it and keep the thread serving.
    auto serve = [&im] {
        for (;;) {
            try {
                im.ioc.run();
                return;
            } catch (const std::exception& e) {
                std::cerr << "ideo serve: unexpected error in a handler: " << e.what() << '\n';
            }
        }
    };
    im.workers = std::make_unique<detail::WorkerPool>(or_cores(im.options.workers), im.options.worker_queue);
    const unsigned n = or_cores(im.options.threads);
    std::vector<std::thread> pool;
    pool.reserve(n - 1);
    for (unsigned i = 1; i < n; ++i) pool.emplace_back(serve);
    serve();
    for (auto& t : pool) t.join();
    im.workers.reset();  // after the I/O threads: what a worker posts to a session meanwhile is dropped with the io_context
}

void Server::stop() {
    Impl& im = *impl_;
    net::post(im.acceptor.get_executor(), [&im] { im.begin_stop(); });
}

}  // namespace ideo::server
