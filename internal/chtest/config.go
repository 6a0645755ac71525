package chtest

import (
	"fmt"
	"path/filepath"
)

// configXML is a minimal server configuration: loopback only, UTC, small
// caches, everything under dir, and a one-shard cluster pointing at itself.
func configXML(dir string, tcpPort, httpPort int) string {
	p := func(name string) string { return filepath.Join(dir, name) + "/" }
	return fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>%[1]s/log/server.log</log>
        <errorlog>%[1]s/log/server.err.log</errorlog>
        <size>10M</size>
        <count>1</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>%[2]d</tcp_port>
    <http_port>%[3]d</http_port>
    <path>%[4]s</path>
    <tmp_path>%[5]s</tmp_path>
    <user_files_path>%[6]s</user_files_path>
    <format_schema_path>%[7]s</format_schema_path>
    <users_config>%[1]s/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <max_connections>256</max_connections>
    <max_concurrent_queries>64</max_concurrent_queries>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <builtin_dictionaries_reload_interval>0</builtin_dictionaries_reload_interval>
    <remote_servers>
        <%[8]s>
            <shard>
                <replica>
                    <host>127.0.0.1</host>
                    <port>%[2]d</port>
                </replica>
            </shard>
        </%[8]s>
    </remote_servers>
</yandex>
`, dir, tcpPort, httpPort, p("data"), p("tmp"), p("user_files"), p("format_schemas"), ClusterName)
}

const usersXML = `<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
`
