/*-------------------------------------------------------------------------
 * wanproxy.c
 *	  A loopback TCP proxy that makes a link between two local PostgreSQL
 *	  instances behave like a WAN link: one-way latency and jitter per
 *	  direction, and a partition that can be cut and restored on command.
 *
 * The kernel the tests run on has no netem, so multi-region tests and the
 * demo put this proxy between the regions instead.
 *
 *	  wanproxy --listen PORT --target PORT --control PORT
 *	           [--latency-up MS] [--latency-down MS] [--jitter MS] [--seed N]
 *
 * "up" is the direction client -> target, "down" is target -> client.  Every
 * chunk read from one side is held for latency +- uniform jitter before it
 * is written to the other side, but never released before the chunk read
 * before it on the same connection and direction: jitter reorders nothing,
 * just as TCP would not.  The end of a stream (a half close) travels through
 * the same queue, so it is delayed like data.
 *
 * Control: line commands on a TCP port on 127.0.0.1, one answer line each:
 *	  cut                               close every connection and refuse new
 *	                                    ones until restore ("ok")
 *	  stall                             a silent partition: connections stay
 *	                                    open but nothing moves, new ones are
 *	                                    not accepted (they hang in the listen
 *	                                    backlog) ("ok")
 *	  restore                           undo cut or stall: queued data flows,
 *	                                    connections are accepted ("ok")
 *	  latency <up_ms> <down_ms> <jitter_ms>   applies to chunks read from now on
 *	  status                            "state=up|cut conns=N latency_up=..."
 *	  quit                              exit the proxy ("ok")
 *
 * Everything is bounded: connections (MAX_CONNS, extra ones are closed at
 * once), queued bytes per direction (QUEUE_MAX_BYTES; reading stops until
 * the queue drains, so a slow reader back-pressures the writer as TCP does),
 * control clients and their line length.  Only 127.0.0.1 is ever bound or
 * connected to.  One thread, poll().
 *
 * Build: cc -O2 -Wall -Wextra -o wanproxy wanproxy.c
 *
 * IDENTIFICATION
 *	  test/tools/wanproxy.c
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS			128
#define MAX_CTL_CLIENTS		8
#define CTL_LINE_MAX		256
#define CHUNK_MAX			16384
#define QUEUE_MAX_CHUNKS	512
#define QUEUE_MAX_BYTES		(4 * 1024 * 1024)
#define MAX_DELAY_MS		600000	/* ten minutes: anything above is a typo */

/* A chunk of bytes waiting for its release time; len 0 = end of stream. */
typedef struct Chunk
{
	int64_t		release_us;
	size_t		len;
	size_t		off;			/* bytes of it already written */
	char	   *data;
} Chunk;

/* One direction of a connection: bytes read from src, written to dst. */
typedef struct Pipe
{
	Chunk		q[QUEUE_MAX_CHUNKS];	/* ring */
	int			head;
	int			count;
	size_t		bytes;
	int64_t		last_release_us;	/* keeps release times monotonic */
	int			src_eof;		/* EOF read and queued */
	int			dst_shut;		/* EOF delivered (shutdown(SHUT_WR)) */
} Pipe;

typedef struct Conn
{
	int			used;
	int			client_fd;
	int			target_fd;
	Pipe		up;				/* client -> target */
	Pipe		down;			/* target -> client */
} Conn;

typedef struct CtlClient
{
	int			fd;
	size_t		len;
	int			overflow;		/* line too long: discard up to newline */
	char		buf[CTL_LINE_MAX];
} CtlClient;

static Conn *conns;
static CtlClient ctl_clients[MAX_CTL_CLIENTS];
static int	listen_fd = -1;
static int	control_fd = -1;
static int	target_port;
static int	link_cut;
static int	link_stalled;
static int	latency_up_ms;
static int	latency_down_ms;
static int	jitter_ms;
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static unsigned long long bytes_up;
static unsigned long long bytes_down;
static unsigned long long accepted;
static unsigned long long refused;
static int	quit_requested;

static void die(const char *fmt,...) __attribute__((noreturn, format(printf, 1, 2)));
static void ctl_reply(int fd, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void
die(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	fprintf(stderr, "wanproxy: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void
usage(FILE *out)
{
	fprintf(out,
			"Usage: wanproxy --listen PORT --target PORT --control PORT\n"
			"                [--latency-up MS] [--latency-down MS] [--jitter MS] [--seed N]\n"
			"\n"
			"Forwards 127.0.0.1:LISTEN to 127.0.0.1:TARGET, delaying every chunk by\n"
			"its direction's latency +- uniform jitter (order kept per connection).\n"
			"\"up\" is client -> target, \"down\" is target -> client.\n"
			"Control port (127.0.0.1, one command per line, one answer line each):\n"
			"  cut | stall | restore | latency UP_MS DOWN_MS JITTER_MS | status | quit\n");
}

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* xorshift64*: reproducible jitter for a given --seed */
static uint64_t
rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static int64_t
delay_us(int latency_ms)
{
	int64_t		d = (int64_t) latency_ms * 1000;

	if (jitter_ms > 0)
	{
		int64_t		span = (int64_t) jitter_ms * 2000 + 1;

		d += (int64_t) (rng_next() % (uint64_t) span) - (int64_t) jitter_ms * 1000;
	}
	return d < 0 ? 0 : d;
}

static int
parse_int(const char *s, int lo, int hi, int *out)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return 0;
	*out = (int) v;
	return 1;
}

static void
set_nonblock(int fd)
{
	int			flags = fcntl(fd, F_GETFL, 0);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		die("fcntl: %s", strerror(errno));
}

static void
loopback_addr(struct sockaddr_in *sa, int port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t) port);
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

static int
listen_loopback(int port)
{
	struct sockaddr_in sa;
	int			one = 1;
	int			fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	loopback_addr(&sa, port);
	if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
		die("cannot bind 127.0.0.1:%d: %s", port, strerror(errno));
	if (listen(fd, 64) < 0)
		die("listen: %s", strerror(errno));
	set_nonblock(fd);
	return fd;
}

/*
 * Connect to the target.  Loopback connects complete or fail at once, so a
 * blocking connect (with a timeout, in case the target's backlog is full)
 * keeps the event loop simple.
 */
static int
connect_target(void)
{
	struct sockaddr_in sa;
	struct timeval tv = {2, 0};
	int			one = 1;
	int			fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	loopback_addr(&sa, target_port);
	if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
	{
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_nonblock(fd);
	return fd;
}

static void
pipe_reset(Pipe *p)
{
	while (p->count > 0)
	{
		free(p->q[p->head].data);
		p->head = (p->head + 1) % QUEUE_MAX_CHUNKS;
		p->count--;
	}
	memset(p, 0, sizeof(*p));
}

static void
conn_close(Conn *c)
{
	if (!c->used)
		return;
	close(c->client_fd);
	close(c->target_fd);
	pipe_reset(&c->up);
	pipe_reset(&c->down);
	c->used = 0;
}

static int
conn_count(void)
{
	int			n = 0;

	for (int i = 0; i < MAX_CONNS; i++)
		n += conns[i].used;
	return n;
}

static void
accept_client(void)
{
	int			fd;
	int			one = 1;
	Conn	   *c = NULL;

	fd = accept(listen_fd, NULL, NULL);
	if (fd < 0)
		return;
	if (!link_cut)
		for (int i = 0; i < MAX_CONNS; i++)
			if (!conns[i].used)
			{
				c = &conns[i];
				break;
			}
	if (c == NULL)
	{
		/* cut, or out of connection slots: the client sees a closed link */
		refused++;
		close(fd);
		return;
	}
	memset(c, 0, sizeof(*c));
	c->target_fd = connect_target();
	if (c->target_fd < 0)
	{
		refused++;
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_nonblock(fd);
	c->client_fd = fd;
	c->used = 1;
	accepted++;
}

static int
pipe_can_read(const Pipe *p)
{
	return !p->src_eof && p->count < QUEUE_MAX_CHUNKS && p->bytes < QUEUE_MAX_BYTES;
}

/* Queue a chunk (len 0 = EOF) behind every earlier one. */
static void
pipe_push(Pipe *p, const char *data, size_t len, int latency_ms)
{
	Chunk	   *ch = &p->q[(p->head + p->count) % QUEUE_MAX_CHUNKS];
	int64_t		release = now_us() + delay_us(latency_ms);

	if (release < p->last_release_us)
		release = p->last_release_us;
	p->last_release_us = release;
	ch->release_us = release;
	ch->len = len;
	ch->off = 0;
	ch->data = NULL;
	if (len > 0)
	{
		ch->data = malloc(len);
		if (ch->data == NULL)
			die("out of memory");
		memcpy(ch->data, data, len);
	}
	p->count++;
	p->bytes += len;
}

/* Read what src has into the pipe.  Returns 0 when the connection broke. */
static int
pipe_read(Pipe *p, int src, int latency_ms, unsigned long long *counter)
{
	char		buf[CHUNK_MAX];
	ssize_t		n = recv(src, buf, sizeof(buf), 0);

	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
	if (n == 0)
	{
		p->src_eof = 1;
		pipe_push(p, NULL, 0, latency_ms);
		return 1;
	}
	*counter += (unsigned long long) n;
	pipe_push(p, buf, (size_t) n, latency_ms);
	return 1;
}

/*
 * Write every released chunk that dst accepts.  Returns 0 when the
 * connection broke.
 */
static int
pipe_write(Pipe *p, int dst, int64_t now)
{
	while (p->count > 0)
	{
		Chunk	   *ch = &p->q[p->head];

		if (ch->release_us > now)
			break;
		if (ch->len == 0)
		{
			shutdown(dst, SHUT_WR);
			p->dst_shut = 1;
		}
		else
		{
			while (ch->off < ch->len)
			{
				ssize_t		n = send(dst, ch->data + ch->off, ch->len - ch->off,
									 MSG_NOSIGNAL);

				if (n < 0)
				{
					if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
						return 1;
					return 0;
				}
				ch->off += (size_t) n;
			}
			p->bytes -= ch->len;
			free(ch->data);
		}
		ch->data = NULL;
		p->head = (p->head + 1) % QUEUE_MAX_CHUNKS;
		p->count--;
	}
	return 1;
}

static int
pipe_wants_write(const Pipe *p, int64_t now)
{
	return p->count > 0 && p->q[p->head].release_us <= now;
}

static void
ctl_reply(int fd, const char *fmt,...)
{
	char		line[512];
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int) sizeof(line) - 2)
		n = (int) sizeof(line) - 2;
	line[n++] = '\n';
	/* answers are short and control clients read them: a blocking send */
	(void) send(fd, line, (size_t) n, MSG_NOSIGNAL);
}

static void
ctl_command(int fd, char *line)
{
	char	   *argv[5];
	int			argc = 0;
	char	   *save = NULL;
	char	   *tok;

	for (tok = strtok_r(line, " \t\r", &save); tok != NULL && argc < 5;
		 tok = strtok_r(NULL, " \t\r", &save))
		argv[argc++] = tok;
	if (argc == 0)
		return;

	if (strcmp(argv[0], "cut") == 0 && argc == 1)
	{
		link_cut = 1;
		for (int i = 0; i < MAX_CONNS; i++)
			conn_close(&conns[i]);
		ctl_reply(fd, "ok");
	}
	else if (strcmp(argv[0], "stall") == 0 && argc == 1)
	{
		link_stalled = 1;
		ctl_reply(fd, "ok");
	}
	else if (strcmp(argv[0], "restore") == 0 && argc == 1)
	{
		link_cut = 0;
		link_stalled = 0;
		ctl_reply(fd, "ok");
	}
	else if (strcmp(argv[0], "latency") == 0 && argc == 4)
	{
		int			up,
					down,
					jitter;

		if (!parse_int(argv[1], 0, MAX_DELAY_MS, &up) ||
			!parse_int(argv[2], 0, MAX_DELAY_MS, &down) ||
			!parse_int(argv[3], 0, MAX_DELAY_MS, &jitter))
		{
			ctl_reply(fd, "error: latency values must be integers from 0 to %d ms",
					  MAX_DELAY_MS);
			return;
		}
		latency_up_ms = up;
		latency_down_ms = down;
		jitter_ms = jitter;
		ctl_reply(fd, "ok");
	}
	else if (strcmp(argv[0], "status") == 0 && argc == 1)
		ctl_reply(fd, "state=%s conns=%d latency_up=%d latency_down=%d jitter=%d "
				  "accepted=%llu refused=%llu bytes_up=%llu bytes_down=%llu",
				  link_cut ? "cut" : link_stalled ? "stalled" : "up",
				  conn_count(), latency_up_ms,
				  latency_down_ms, jitter_ms, accepted, refused, bytes_up,
				  bytes_down);
	else if (strcmp(argv[0], "quit") == 0 && argc == 1)
	{
		ctl_reply(fd, "ok");
		quit_requested = 1;
	}
	else
		ctl_reply(fd, "error: unknown command (cut, stall, restore, latency UP DOWN JITTER, status, quit)");
}

static void
ctl_accept(void)
{
	int			fd = accept(control_fd, NULL, NULL);

	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CTL_CLIENTS; i++)
		if (ctl_clients[i].fd < 0)
		{
			ctl_clients[i].fd = fd;
			ctl_clients[i].len = 0;
			ctl_clients[i].overflow = 0;
			return;
		}
	ctl_reply(fd, "error: too many control clients");
	close(fd);
}

static void
ctl_read(CtlClient *cc)
{
	char		buf[CTL_LINE_MAX];
	ssize_t		n = recv(cc->fd, buf, sizeof(buf), 0);

	if (n <= 0)
	{
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		close(cc->fd);
		cc->fd = -1;
		return;
	}
	for (ssize_t i = 0; i < n && cc->fd >= 0; i++)
	{
		if (buf[i] == '\n')
		{
			if (cc->overflow)
				ctl_reply(cc->fd, "error: line too long");
			else
			{
				cc->buf[cc->len] = '\0';
				ctl_command(cc->fd, cc->buf);
			}
			cc->len = 0;
			cc->overflow = 0;
		}
		else if (cc->len < CTL_LINE_MAX - 1)
			cc->buf[cc->len++] = buf[i];
		else
			cc->overflow = 1;
	}
}

int
main(int argc, char **argv)
{
	int			listen_port = -1;
	int			control_port = -1;
	/* one pollfd per socket: listeners, control clients, both conn ends */
	static struct pollfd pfds[2 + MAX_CTL_CLIENTS + 2 * MAX_CONNS];

	target_port = -1;
	for (int i = 1; i < argc; i++)
	{
		const char *opt = argv[i];
		int		   *dst = NULL;
		int			lo = 1,
					hi = 65535;

		if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0)
		{
			usage(stdout);
			return 0;
		}
		if (strcmp(opt, "--listen") == 0)
			dst = &listen_port;
		else if (strcmp(opt, "--target") == 0)
			dst = &target_port;
		else if (strcmp(opt, "--control") == 0)
			dst = &control_port;
		else if (strcmp(opt, "--latency-up") == 0)
			dst = &latency_up_ms, lo = 0, hi = MAX_DELAY_MS;
		else if (strcmp(opt, "--latency-down") == 0)
			dst = &latency_down_ms, lo = 0, hi = MAX_DELAY_MS;
		else if (strcmp(opt, "--jitter") == 0)
			dst = &jitter_ms, lo = 0, hi = MAX_DELAY_MS;
		else if (strcmp(opt, "--seed") == 0)
		{
			int			seed;

			if (i + 1 >= argc || !parse_int(argv[i + 1], 0, 2147483647, &seed))
				die("--seed needs a non-negative integer");
			rng_state ^= (uint64_t) seed * 0xBF58476D1CE4E5B9ULL;
			if (rng_state == 0)
				rng_state = 1;
			i++;
			continue;
		}
		else
		{
			usage(stderr);
			die("unknown option \"%s\"", opt);
		}
		if (i + 1 >= argc || !parse_int(argv[i + 1], lo, hi, dst))
			die("%s needs an integer from %d to %d", opt, lo, hi);
		i++;
	}
	if (listen_port < 0 || target_port < 0 || control_port < 0)
	{
		usage(stderr);
		return 2;
	}

	signal(SIGPIPE, SIG_IGN);
	conns = calloc(MAX_CONNS, sizeof(Conn));
	if (conns == NULL)
		die("out of memory");
	for (int i = 0; i < MAX_CTL_CLIENTS; i++)
		ctl_clients[i].fd = -1;
	listen_fd = listen_loopback(listen_port);
	control_fd = listen_loopback(control_port);
	printf("wanproxy: 127.0.0.1:%d -> 127.0.0.1:%d, control 127.0.0.1:%d\n",
		   listen_port, target_port, control_port);
	fflush(stdout);

	while (!quit_requested)
	{
		int			npfd = 0;
		int			ctl_base,
					conn_base;
		int64_t		now = now_us();
		int64_t		next_release = -1;
		int			timeout_ms;

		/* a stalled link leaves new connections in the listen backlog */
		pfds[npfd].fd = link_stalled ? -1 : listen_fd;
		pfds[npfd++].events = POLLIN;
		pfds[npfd].fd = control_fd;
		pfds[npfd++].events = POLLIN;
		ctl_base = npfd;
		for (int i = 0; i < MAX_CTL_CLIENTS; i++)
		{
			pfds[npfd].fd = ctl_clients[i].fd;	/* negative fds are ignored */
			pfds[npfd++].events = POLLIN;
		}
		conn_base = npfd;
		for (int i = 0; i < MAX_CONNS; i++)
		{
			Conn	   *c = &conns[i];
			short		cev = 0,
						tev = 0;

			if (c->used && !link_stalled)
			{
				if (pipe_can_read(&c->up))
					cev |= POLLIN;
				if (pipe_can_read(&c->down))
					tev |= POLLIN;
				if (pipe_wants_write(&c->up, now))
					tev |= POLLOUT;
				if (pipe_wants_write(&c->down, now))
					cev |= POLLOUT;
				/* the earliest future release bounds the poll timeout */
				if (c->up.count > 0 && c->up.q[c->up.head].release_us > now &&
					(next_release < 0 || c->up.q[c->up.head].release_us < next_release))
					next_release = c->up.q[c->up.head].release_us;
				if (c->down.count > 0 && c->down.q[c->down.head].release_us > now &&
					(next_release < 0 || c->down.q[c->down.head].release_us < next_release))
					next_release = c->down.q[c->down.head].release_us;
			}
			/*
			 * poll() ignores negative fds; a socket we neither read nor
			 * write now would otherwise wake us up forever with POLLHUP.
			 */
			pfds[npfd].fd = cev ? c->client_fd : -1;
			pfds[npfd++].events = cev;
			pfds[npfd].fd = tev ? c->target_fd : -1;
			pfds[npfd++].events = tev;
		}

		timeout_ms = -1;
		if (next_release >= 0)
			timeout_ms = (int) ((next_release - now + 999) / 1000);
		if (poll(pfds, (nfds_t) npfd, timeout_ms) < 0)
		{
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}

		/*
		 * Connections first: the control commands and accepts below may
		 * close or reuse slots, which would make their pollfds stale.
		 */
		for (int i = 0; i < MAX_CONNS; i++)
		{
			Conn	   *c = &conns[i];
			short		crev = pfds[conn_base + 2 * i].revents;
			short		trev = pfds[conn_base + 2 * i + 1].revents;
			int			ok = 1;

			if (!c->used || link_stalled)
				continue;
			if ((crev & (POLLIN | POLLHUP | POLLERR)) && pipe_can_read(&c->up))
				ok = pipe_read(&c->up, c->client_fd, latency_up_ms, &bytes_up);
			if (ok && (trev & (POLLIN | POLLHUP | POLLERR)) && pipe_can_read(&c->down))
				ok = pipe_read(&c->down, c->target_fd, latency_down_ms, &bytes_down);
			/* zero-latency chunks just read go out in the same round */
			now = now_us();
			if (ok)
				ok = pipe_write(&c->up, c->target_fd, now);
			if (ok)
				ok = pipe_write(&c->down, c->client_fd, now);
			if (!ok || (c->up.dst_shut && c->down.dst_shut))
				conn_close(c);
		}

		for (int i = 0; i < MAX_CTL_CLIENTS; i++)
			if (ctl_clients[i].fd >= 0 && pfds[ctl_base + i].fd == ctl_clients[i].fd &&
				(pfds[ctl_base + i].revents & (POLLIN | POLLHUP | POLLERR)))
				ctl_read(&ctl_clients[i]);
		if (pfds[1].revents & POLLIN)
			ctl_accept();
		if (pfds[0].revents & POLLIN)
			accept_client();
	}
	return 0;
}
