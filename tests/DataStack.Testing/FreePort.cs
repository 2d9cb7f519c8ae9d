using System.Net;
using System.Net.Sockets;

namespace DataStack.Testing;

/// <summary>A loopback TCP port that was free a moment ago, for a server the tests are about to start.</summary>
public static class FreePort
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
