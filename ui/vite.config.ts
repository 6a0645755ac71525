import { defineConfig } from "vite";

// The build goes to dist/, which package ui embeds in the binary. Asset URLs
// are relative ("./assets/..."), so the UI works under any base path
// (--query-base-path): the server names the base in index.html.
export default defineConfig({
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
  },
  server: {
    // `npm run dev` proxies the API to a running all-in-one.
    proxy: { "/api": "http://localhost:8080" },
  },
});
