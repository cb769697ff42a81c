package org.flotilla.raft.transport.netty;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Makes throw-away certificate authorities and member certificates for TLS tests, at run time, with
 * the JDK's {@code keytool}: nothing secret is committed. Keys are EC P-256; certificates name
 * 127.0.0.1 and localhost and are valid for two days.
 */
final class TestPki {

  private static final String PASS = "test-only";

  private final Path dir;

  TestPki(Path dir) {
    this.dir = dir;
  }

  /** Creates a CA called {@code name}; returns its certificate's PEM file. */
  Path ca(String name) throws Exception {
    Path store = dir.resolve(name + ".p12");
    keytool(
        "-genkeypair",
        "-keystore",
        store.toString(),
        "-storetype",
        "PKCS12",
        "-storepass",
        PASS,
        "-alias",
        name,
        "-dname",
        "CN=" + name,
        "-keyalg",
        "EC",
        "-groupname",
        "secp256r1",
        "-validity",
        "2",
        "-ext",
        "bc:c");
    Path pem = dir.resolve(name + ".crt");
    keytool(
        "-exportcert",
        "-keystore",
        store.toString(),
        "-storepass",
        PASS,
        "-alias",
        name,
        "-rfc",
        "-file",
        pem.toString());
    return pem;
  }

  /** A member's certificate and PKCS#8 key, signed by a CA made with {@link #ca}. */
  record Identity(Path certificate, Path privateKey) {}

  Identity member(String name, String caName) throws Exception {
    return member(name, caName, "ip:127.0.0.1,dns:localhost");
  }

  /** A member's certificate naming {@code san} (keytool syntax), signed by {@code caName}. */
  Identity member(String name, String caName, String san) throws Exception {
    Path store = dir.resolve(name + ".p12");
    keytool(
        "-genkeypair",
        "-keystore",
        store.toString(),
        "-storetype",
        "PKCS12",
        "-storepass",
        PASS,
        "-alias",
        name,
        "-dname",
        "CN=" + name,
        "-keyalg",
        "EC",
        "-groupname",
        "secp256r1",
        "-validity",
        "2");
    Path csr = dir.resolve(name + ".csr");
    keytool(
        "-certreq",
        "-keystore",
        store.toString(),
        "-storepass",
        PASS,
        "-alias",
        name,
        "-file",
        csr.toString());
    Path cert = dir.resolve(name + ".crt");
    keytool(
        "-gencert",
        "-keystore",
        dir.resolve(caName + ".p12").toString(),
        "-storepass",
        PASS,
        "-alias",
        caName,
        "-infile",
        csr.toString(),
        "-outfile",
        cert.toString(),
        "-rfc",
        "-validity",
        "2",
        "-ext",
        "san=" + san,
        "-ext",
        "eku=serverAuth,clientAuth");
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(store)) {
      ks.load(in, PASS.toCharArray());
    }
    PrivateKey key = (PrivateKey) ks.getKey(name, PASS.toCharArray());
    Path keyPem = dir.resolve(name + ".key");
    String b64 =
        Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
            .encodeToString(key.getEncoded()); // PKCS#8
    Files.writeString(
        keyPem, "-----BEGIN PRIVATE KEY-----\n" + b64 + "\n-----END PRIVATE KEY-----\n");
    return new Identity(cert, keyPem);
  }

  private static void keytool(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    cmd.add("-noprompt");
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("keytool timed out: " + cmd);
    }
    if (p.exitValue() != 0) {
      throw new IOException("keytool failed (" + p.exitValue() + "): " + cmd + "\n" + out);
    }
  }
}
