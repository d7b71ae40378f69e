"""A TCP proxy that tests can cut and restore: a real outage of PostgreSQL or Redis for one app
without stopping the machine's shared server."""
import gevent
import gevent.server
import gevent.socket


class CuttableProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.cut_off = False
        self.sockets: set = set()
        self.server = gevent.server.StreamServer(("127.0.0.1", 0), self._handle)
        self.server.start()
        self.port = self.server.server_port

    def _handle(self, client, address) -> None:
        if self.cut_off:
            client.close()
            return
        try:
            upstream = gevent.socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        self.sockets.update((client, upstream))
        pumps = [gevent.spawn(self._pump, client, upstream),
                 gevent.spawn(self._pump, upstream, client)]
        gevent.joinall(pumps, count=1)
        for sock in (client, upstream):
            self.sockets.discard(sock)
            sock.close()
        gevent.killall(pumps, block=False)

    @staticmethod
    def _pump(source, target) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    return
                target.sendall(data)
        except OSError:
            return

    def cut(self) -> None:
        """Refuse new connections and break every open one."""
        self.cut_off = True
        for sock in list(self.sockets):
            try:
                sock.shutdown(2)
            except OSError:
                pass
            sock.close()
        self.sockets.clear()

    def restore(self) -> None:
        self.cut_off = False

    def close(self) -> None:
        self.cut()
        self.server.stop()
