package org.flotilla.raft.examples;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Sends one request as raw bytes over a fresh connection and reads the response until the server
 * closes it: for requests an HTTP client library will not send (malformed percent-escapes, raw
 * bytes in the target, a broken request line). Stateless; thread-safe.
 */
final class RawHttp {

  /**
   * A response.
   *
   * @param status the status code
   * @param headers the headers, names in lower case (the last value of a repeated header)
   * @param body the body as text
   */
  record Reply(int status, Map<String, String> headers, String body) {
    String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }
  }

  private RawHttp() {}

  /**
   * Sends a request with {@code Host}, {@code Content-Length} and {@code Connection: close}.
   *
   * @param port the server's port on the loopback address
   * @param method the method
   * @param target the request target, sent as it is (ISO-8859-1)
   * @param body the body, or null for none
   * @param headers extra headers, as name and value pairs
   * @return the response
   * @throws IOException if the connection fails
   */
  static Reply send(int port, String method, String target, byte[] body, String... headers)
      throws IOException {
    StringBuilder head = new StringBuilder();
    head.append(method).append(' ').append(target).append(" HTTP/1.1\r\n");
    head.append("Host: 127.0.0.1:").append(port).append("\r\n");
    for (int i = 0; i + 1 < headers.length; i += 2) {
      head.append(headers[i]).append(": ").append(headers[i + 1]).append("\r\n");
    }
    if (body != null) {
      head.append("Content-Length: ").append(body.length).append("\r\n");
    }
    head.append("Connection: close\r\n\r\n");
    ByteArrayOutputStream req = new ByteArrayOutputStream();
    req.writeBytes(head.toString().getBytes(StandardCharsets.ISO_8859_1));
    if (body != null) {
      req.writeBytes(body);
    }
    return exchange(port, req.toByteArray());
  }

  /**
   * Sends bytes as they are and reads the response.
   *
   * @param port the server's port on the loopback address
   * @param request the whole request
   * @return the response
   * @throws IOException if the connection fails or the response is not HTTP
   */
  static Reply exchange(int port, byte[] request) throws IOException {
    byte[] all;
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      s.setSoTimeout(15_000);
      OutputStream out = s.getOutputStream();
      out.write(request);
      out.flush();
      InputStream in = s.getInputStream();
      all = in.readAllBytes();
    }
    String text = new String(all, StandardCharsets.ISO_8859_1);
    int end = text.indexOf("\r\n\r\n");
    if (!text.startsWith("HTTP/1.1 ") || end < 0) {
      throw new IOException("not an HTTP response: " + text);
    }
    String[] lines = text.substring(0, end).split("\r\n", -1);
    int status = Integer.parseInt(lines[0].substring(9, 12));
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      headers.put(
          lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT),
          lines[i].substring(colon + 1).trim());
    }
    String body = new String(all, end + 4, all.length - end - 4, StandardCharsets.UTF_8);
    return new Reply(status, headers, body);
  }
}
